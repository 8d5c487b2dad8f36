"""Head office's own tags: the tag catalogue as data in the CRM (issue 5, "Segmentation").

The built-in tags live in ``tagengine/builtin_tags.toml``; head office adds, edits and deactivates
its own tags here (``CustomTag``, every version kept in ``CustomTagVersion``), each change validated
by building the whole catalogue through the tag engine. ``selectors.current_catalogue`` is what the
pipeline computes; ``TagCoverage`` (customers per tag and day, counted from the warehouse's
``tags`` snapshots at publish) is the tags' coverage and history.
"""
