"""Folder scans: walking model folders, telling model files by their names and first bytes,
and reading what their headers say. The SCAN job (`domain.jobs.scan`) puts them together."""
