#!/usr/bin/env python3
"""Decode a QR manifest with peer decoders (zbarimg, zxing-cpp) and report exact matches.

Usage: qr_peers.py CORPUS_DIR [--json OUT]

Reads CORPUS_DIR/manifest.csv (image,expected_text_file,category[,...]); a code counts as read
when a decoded text equals the expected .txt bytes decoded as UTF-8. Prints one JSON object per
decoder and category on stdout: {"decoder","category","expected","decoded","images","seconds"}.
Run it under `taskset -c 0` to measure one core.
"""
import csv, json, os, re, subprocess, sys, time
from collections import defaultdict
from xml.etree import ElementTree as ET
import base64


def load_manifest(root):
    rows = []
    with open(os.path.join(root, "manifest.csv"), newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            with open(os.path.join(root, row["expected_text_file"]), "rb") as t:
                expected = t.read().decode("utf-8")
            rows.append((row["image"], expected, row["category"]))
    return rows


def zbar(root, images):
    """One zbarimg process over all images, --xml so multi-line texts and charsets survive."""
    t0 = time.perf_counter()
    p = subprocess.run(["zbarimg", "--xml", "-q", "-Sdisable", "-Sqrcode.enable", *images],
                       cwd=root, capture_output=True)
    dt = time.perf_counter() - t0
    out = defaultdict(list)
    ns = {"z": "http://zbar.sourceforge.net/2008/barcode"}
    xml = p.stdout.decode("utf-8", "replace")
    tree = ET.fromstring(xml)
    for src in tree.findall("z:source", ns):
        href = src.get("href")
        for sym in src.iter("{http://zbar.sourceforge.net/2008/barcode}symbol"):
            d = sym.find("z:data", ns)
            if d is None:
                continue
            text = d.text or ""
            if d.get("format") == "base64":
                text = base64.b64decode(text).decode("utf-8", "replace")
            out[href].append(text)
    return out, dt


def zxingcpp_all(root, images):
    import zxingcpp
    from PIL import Image, ImageOps
    out = {}
    t0 = time.perf_counter()
    for img in images:
        try:
            im = ImageOps.exif_transpose(Image.open(os.path.join(root, img)))
            res = zxingcpp.read_barcodes(im, formats=zxingcpp.BarcodeFormat.QRCode,
                                         text_mode=zxingcpp.TextMode.Plain)
            out[img] = [r.text for r in res]
        except Exception as e:  # a peer's failure on one image counts as not read
            print(f"zxing-cpp: {img}: {e}", file=sys.stderr)
            out[img] = []
    return out, time.perf_counter() - t0


def score(name, rows, decoded, seconds, nimages):
    per = defaultdict(lambda: [0, 0])
    for img, expected, cat in rows:
        per[cat][0] += 1
        if expected in decoded.get(img, []):
            per[cat][1] += 1
    res = []
    for cat in sorted(per):
        res.append({"decoder": name, "category": cat, "expected": per[cat][0], "decoded": per[cat][1]})
    total = sum(v[1] for v in per.values())
    res.append({"decoder": name, "category": "ALL", "expected": len(rows), "decoded": total,
                "images": nimages, "seconds": round(seconds, 3),
                "images_per_s": round(nimages / seconds, 2) if seconds > 0 else None})
    return res


def main():
    root = sys.argv[1]
    rows = load_manifest(root)
    images = sorted({r[0] for r in rows})
    for name, fn in (("zbar", zbar), ("zxing-cpp", zxingcpp_all)):
        decoded, dt = fn(root, images)
        for line in score(name, rows, decoded, dt, len(images)):
            print(json.dumps(line, ensure_ascii=False))


if __name__ == "__main__":
    main()
