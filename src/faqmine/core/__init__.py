"""The small core every stage shares: stats, dataset schemas, ids, text, language codes, URLs, limits, faults."""
