"""The transfer report: statistics, figures and the standalone HTML page."""
