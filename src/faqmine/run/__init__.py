"""The run as a whole: the stage table, validation of each stage's output, `faqmine check`, the dataset card."""
