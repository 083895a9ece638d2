"""Cost-vs-accuracy reports from the outcome log (`tttc report`); kept import-light for `tttc --help`."""
