#!/bin/sh
# orgdrift plan: nothing to do: the tenant matches the spec (1 finding needing no request)
# tenant: <tenant>; written by orgdrift 0.1.0, which sends none of these requests itself.
echo 'orgdrift plan: nothing to send' >&2
exit 0
