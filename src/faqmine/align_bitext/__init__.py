"""Stage `align_bitext`: same-site cross-lingual alignment of QA vectors."""
