"""The tag engine: tags as data, written in a small safe rule language compiled to Ibis.

- :mod:`.language` parses and type-checks a rule and compiles it to an Ibis boolean expression;
- :mod:`.features` builds the feature table (one row per customer) that rules read, and its
  registry :data:`~.features.FEATURES`;
- :mod:`.catalogue` loads and validates the tags (``builtin_tags.toml`` and head office's own) and
  computes them, long (``customer_no, tag_code``) or wide (one boolean column per tag).

Nothing here imports Django or names a backend: the same expressions run on DuckDB and Spark.
"""
