#!/usr/bin/env python3
"""A shell tool for streamkit: reads the call's arguments as JSON on stdin, prints the answer.

Made-up weather, so that the demo needs no network: the same city always gets the same sky.
"""

import json
import sys
import zlib

args = json.load(sys.stdin)
city = str(args.get("city", "")).strip()
if not city:
    print('which city? pass {"city": "..."}', file=sys.stderr)
    sys.exit(2)
seed = zlib.crc32(city.lower().encode())
sky = ["sunny", "cloudy", "rainy", "windy", "foggy"][seed % 5]
print(json.dumps({"city": city, "sky": sky, "temperature_c": 5 + seed % 25}))
