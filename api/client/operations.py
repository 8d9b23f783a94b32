"""The GraphQL operations the CLI sends: the same public API every other client uses."""

from __future__ import annotations

JOB_FIELDS = """
    id kind state strategy done total bytesDone bytesTotal secondsLeft
    created merged overridden deleted skipped conflicts failed error
    createdAt startedAt finishedAt
"""

# Every expected failure implements Problem: its message is what the CLI says on stderr.
PROBLEM_FIELDS = "... on Problem { code message }"

JOB = f"query Job($id: ID!) {{ job(id: $id) {{ {JOB_FIELDS} }} }}"

# The items worth a word at the end of an import: what did not simply become a model.
JOB_ITEMS = """
query JobItems($id: ID!, $outcome: JobItemOutcome!, $after: String) {
  job(id: $id) {
    items(first: 500, outcome: $outcome, after: $after) {
      nodes { pendingId name outcome message sha256 }
      pageInfo { hasNextPage endCursor }
    }
  }
}
"""

JOBS = f"""
query Jobs($after: String) {{
  jobs(first: 500, after: $after) {{
    nodes {{ {JOB_FIELDS} }}
    pageInfo {{ hasNextPage endCursor }}
  }}
}}
"""

PENDING = """
query Pending($after: String) {
  pendingImports(first: 500, after: $after) {
    totalCount
    nodes { id name type path sizeBytes sha256 createdAt tags { id name } }
    pageInfo { hasNextPage endCursor }
  }
}
"""

IMPORT_PENDING = f"""
mutation ImportPending($ids: [Int!], $strategy: ConflictStrategy) {{
  importPending(ids: $ids, strategy: $strategy) {{
    __typename
    ... on JobStarted {{ job {{ {JOB_FIELDS} }} }}
    {PROBLEM_FIELDS}
  }}
}}
"""

# One text per verb: the mutation's field name is the operation's only difference.
CONTROL = {
    verb: f"""
mutation Control($id: ID!) {{
  {verb}Job(id: $id) {{
    __typename
    ... on Job {{ {JOB_FIELDS} }}
    {PROBLEM_FIELDS}
  }}
}}
"""
    for verb in ("pause", "resume", "cancel")
}

MIGRATE = """
mutation Migrate($db: String!, $images: String) {
  migrateLegacyDb(legacyDbPath: $db, legacyImagesDir: $images) {
    __typename
    ... on MigrationReport {
      legacyDbPath legacyImagesDir recognizedFrom nothingNew
      tagsImported modelsImported pendingCreated duplicates alreadyImported
      imagesConverted imagesCopied imagesMissing imagesFailed rowsSeconds imagesSeconds
      issueCounts { kind count }
      issues { kind legacyId message }
    }
    ... on Problem { code message }
  }
}
"""
