#!/bin/sh
# orgdrift plan: no plan (invalid input): 9 problems found
# tenant: unknown; written by orgdrift 0.1.0, which sends none of these requests itself.
echo 'orgdrift plan: no plan (invalid input): 9 problems found' >&2
exit 2
