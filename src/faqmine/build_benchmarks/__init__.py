"""Stage `build_benchmarks`: train/dev/test splits and per-language retrieval benchmarks."""
