"""What grading produces for people: ``documents`` (results.json, feedback.md,
gradebook.csv, written atomically), ``feedback_html``, ``class_report`` (report.html and
the summary) and ``progress`` (the progress bar or lines while a class is graded).
"""
