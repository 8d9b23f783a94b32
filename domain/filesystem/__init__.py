"""The files users name and the files we write: paths typed by a user (`user_paths`),
regular files read without blocking (`regular_files`), and writes a crash never sees half
of (`writes`)."""
