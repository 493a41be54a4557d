#!/usr/bin/env bash
# A badge program end to end, against a running `laurel serve`: the Data Science pathway
# (Python Basics -> Data Analysis -> Machine Learning -> Data Science Professional Certificate),
# rules that award each level for a score of 80 or more, and LMS events with scores 79, 80 and
# 95, a duplicate, and the other two levels. Needs curl and python3 (to read JSON).
#
#   examples/badge-program.sh      next to the quick start's ./laurel-data (its admin token), or
#   LAUREL_URL=... LAUREL_ADMIN_TOKEN=... examples/badge-program.sh   for another server
set -euo pipefail
url="${LAUREL_URL:-http://127.0.0.1:8080}"
if [ -z "${LAUREL_ADMIN_TOKEN:-}" ] && [ -r laurel-data/admin-token ]; then
  LAUREL_ADMIN_TOKEN=$(cat laurel-data/admin-token)
fi
token="${LAUREL_ADMIN_TOKEN:?set LAUREL_ADMIN_TOKEN to the server admin token (or run from the folder holding laurel-data/)}"
run="$(date +%s)-$$"             # event ids and the learner are new on every run
learner="ada+${run}@example.edu"

api() {
  local method=$1 path=$2
  shift 2
  curl -sS --fail-with-body -X "$method" "$url$path" -H "authorization: Bearer $token" \
    -H 'content-type: application/json' "$@"
}
field() { python3 -c "import json, sys; print(json.load(sys.stdin)$1)"; }

achievement() {
  api POST /achievements -d "{\"name\": \"$1\", \"description\": \"$1, a step of the Data Science pathway\",
    \"achievementType\": \"$2\", \"criteria\": {\"narrative\": \"Pass the final assessment with a score of 80 or more.\"}}" |
    field '["id"]'
}
basics=$(achievement "Python Basics" Badge)
analysis=$(achievement "Data Analysis" Badge)
ml=$(achievement "Machine Learning" Badge)
certificate=$(achievement "Data Science Professional Certificate" Certificate)
for rule in "py-101 $basics" "da-201 $analysis" "ml-301 $ml"; do
  set -- $rule
  api POST /rules -d "{\"event\": \"assessment_passed\", \"condition\": \"course == \\\"$1\\\" and score >= 80\", \"award\": \"$2\"}" >/dev/null
done
api POST /pathways -d "{\"achievement\": \"$certificate\", \"requires\": [\"$basics\", \"$analysis\", \"$ml\"]}" >/dev/null
echo "catalog: 3 levels and the certificate; rules: score >= 80 per course"

# Sends an LMS event and waits until it is processed; prints what it did.
event() {
  local id="$run-$1" course=$2 score=$3
  local answer
  answer=$(api POST /events -d "{\"id\": \"$id\", \"type\": \"assessment_passed\", \"learner\": {\"email\": \"$learner\"},
    \"course\": \"$course\", \"score\": $score, \"maxScore\": 100}")
  if [ "$(echo "$answer" | field '["duplicates"]')" != "[]" ]; then
    echo "$course $score (event $1 again): a duplicate, nothing new"
    return
  fi
  until [ "$(api GET "/events/$id" | field '["state"]')" = done ]; do sleep 0.1; done
  api GET "/events/$id" | python3 -c '
import json, sys
e = json.load(sys.stdin)["outcome"]
issued = [r["issued"] for r in e["rules"] if r.get("issued")]
held = [r["alreadyHeld"] for r in e["rules"] if r.get("alreadyHeld")]
line = "badge " + issued[0] if issued else ("already held" if held else "no badge")
if e.get("pathwayCredentials"):
    line += "; certificate " + e["pathwayCredentials"][0]
print(sys.argv[1] + " -> " + line)' "$course $score"
}
event e1 py-101 79
event e2 py-101 80
event e2 py-101 80
event e3 py-101 95
event e4 da-201 88
event e5 ml-301 91

api GET "/learners/$learner/progress" | python3 -c '
import json, sys
for p in json.load(sys.stdin)["pathways"]:
    print("progress: %d of %d steps%s" % (len(p["earned"]), p["needed"], ", complete" if p["complete"] else ""))'
encoded=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1]))' "$learner")
api GET "/credentials?recipient=$encoded" | python3 -c '
import json, sys
page = json.load(sys.stdin)
print("badges held by the learner: %d" % len(page["credentials"]))'
