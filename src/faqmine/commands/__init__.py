"""Sub-commands of the `faqmine` command line (see faqmine.cli)."""
