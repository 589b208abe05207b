#!/usr/bin/env bash
# Writes files a museum upload could contain by mistake or malice into <folder>: `make demo` mixes them into
# its sample collection, and each must end in quarantine with its reason while the rest of the run goes on.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bad="${1:?usage: uploads-gone-wrong.sh <folder>}"
photos="$root/.cache/skimage-data"
[[ -f "$photos/.complete" ]] || { echo "sample photos missing: run infra/setup.sh" >&2; exit 1; }

rm -rf "$bad" && mkdir -p "$bad"
: > "$bad/empty.jpg"                                                    # zero bytes
printf 'Inventory 1897.3, oil on canvas, see attached photo.\n' > "$bad/catalogue-note.jpg"   # text named .jpg
head -c 60000 "$photos/rocket.jpg" > "$bad/rocket-upload-interrupted.jpg"  # a real JPEG cut short
# A valid 69-byte PNG whose header claims 30000×30000 pixels (2.7 GB decoded): must be refused from the header.
printf '\x89\x50\x4e\x47\x0d\x0a\x1a\x0a\x00\x00\x00\x0d\x49\x48\x44\x52\x00\x00\x75\x30\x00\x00\x75\x30\x08\x02\x00\x00\x00\xe9\x45\x6f\xed\x00\x00\x00\x0c\x49\x44\x41\x54\x78\x9c\x63\x60\xa0\x0c\x00\x00\x00\x40\x00\x01\xb7\x34\x7c\xef\x00\x00\x00\x00\x49\x45\x4e\x44\xae\x42\x60\x82' > "$bad/decompression-bomb.png"
ln -sf /etc/passwd "$bad/innocent-looking.jpg"                         # a link out of the folder
