"""Database access: every SQL string the client sends, row types, SQLSTATE -> exception, the
async client and the sync client generated from it. It calls ``app_jobs.*`` functions only.
"""
