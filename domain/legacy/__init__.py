"""Stage 1: moving a legacy (v1) library over, once, losing nothing.

`migrator` runs it; `inputs` checks its two paths; `reader` reads the legacy database
without writing to it; `identity` knows a database seen before; `rules` holds every rule of
LEGACY.md; `plan` (part 1), `rows` (part 2) and `images` (part 3, with `image_search`) do
the work; `report` is what a run tells."""
