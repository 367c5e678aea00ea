"""Search shared by the stages and the evaluation: the BM25 tokeniser and index."""
