"""Stage `extract`: WARC files in, schema.org FAQPage question-answer rows out."""
