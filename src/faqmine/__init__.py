"""faqmine: multilingual FAQ retrieval data from web crawls."""
