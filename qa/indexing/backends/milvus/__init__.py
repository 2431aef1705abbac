"""The Milvus backend (a Milvus server, cluster or Milvus Lite): its options, declared here, and
its implementation in qa.indexing.backends.milvus.backend, imported only when it is used.

The options are this backend's alone: the registry (qa.indexing.backends) hands them to
qa.core.settings.declare, and they become QA_MILVUS_* variables, the --milvus-* flags and rows
of docs/settings.md, read with `settings.option("milvus_uri")`. This module stays cheap to import
(the CLI reads the options for its flags), so it imports nothing but the declarations' type.
"""

from __future__ import annotations

from qa.core.options import INDEXING, Option

OPTIONS = (
    Option("milvus_uri", str, "", "Milvus as pymilvus takes it: a file path (Milvus Lite) or "
           "http://host:19530.", INDEXING, flag="--milvus-uri"),
    # No flag: a token on the command line would show in every process list.
    Option("milvus_token", str, "", "The token the Milvus server asks for (user:password or an "
           "API key).", INDEXING, secret=True),
    Option("milvus_collection", str, "", "The index's name on the Milvus server; empty: derived "
           "from the documents folder.", INDEXING, flag="--milvus-collection"),
)
