"""The Spark layer: sessions, stages built from library functions, dataset writing."""
