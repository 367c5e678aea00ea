"""Stage `dedup`: exact keys, shingles and MinHash signatures for exact and near-duplicate removal."""
