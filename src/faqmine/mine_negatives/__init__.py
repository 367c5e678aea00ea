"""Stage `mine_negatives`: hard-negative mining (recall, merging, teacher scores, filters)."""
