"""Stage `clean_langid`: cleaning rules and fastText language identification of QA pairs."""
