"""Stage `extract_wdc`: Web Data Commons N-Quads dumps in, qa_raw rows out."""
