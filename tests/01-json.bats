#!/usr/bin/env bats
# The common/ JSON layer and line reader, through the json-test driver.

load helper

jt() { "$VKPIPE_UNIT/json-test" "$@"; }

# Each line of $1 gets json-test's verdict (ok/error) and Python's strict
# json module's; they must agree (the first 5 that do not are shown).
# Prints nothing; $BATS_TEST_TMPDIR/verdicts holds Python's.
same_verdicts_as_python() {
	python3 - "$1" "$BATS_TEST_TMPDIR/verdicts" <<'PY'
import json, sys
def reject_constant(name):
    raise ValueError(name)
with open(sys.argv[1], "rb") as lines, open(sys.argv[2], "w") as ver:
    for line in lines.read().split(b"\n")[:-1]:
        try:
            json.loads(line.decode(), parse_constant=reject_constant)
            ver.write("ok\n")
        except ValueError:
            ver.write("error\n")
PY
	"$VKPIPE_UNIT/json-test" parse < "$1" | cut -d' ' -f1 > "$BATS_TEST_TMPDIR/ours"
	paste -d' ' "$BATS_TEST_TMPDIR/verdicts" "$BATS_TEST_TMPDIR/ours" "$1" | awk '$1 != $2' | head -n 5 > "$BATS_TEST_TMPDIR/diff"
	assert_equal "$(cat "$BATS_TEST_TMPDIR/diff")" ""
}

@test "json: valid documents are accepted and written compactly" {
	run jt parse <<'EOF2'
{"a":1}
 { "a" : [ 1 , 2 , { "b" : null } ] , "c" : "d" } 
[]
{}
-0.5e+3
true
"x"
[1.25E-3,0,-0,1e10]
EOF2
	assert_success
	assert_output - <<'EOF2'
ok {"a":1}
ok {"a":[1,2,{"b":null}],"c":"d"}
ok []
ok {}
ok -0.5e+3
ok true
ok "x"
ok [1.25E-3,0,-0,1e10]
EOF2
}

@test "json: what jsmn lets through is rejected: more than one value, runs of colons, garbage" {
	run jt parse <<'EOF2'
{}{}
{"a":::"b"}
{"a":1}x
{"a":1} {"b":2}
[1 2]
{"a" 1}
{"a":1,}
[1,]
{,}
true false
EOF2
	assert_success
	refute_output --partial "ok "
	assert_equal "$(printf '%s\n' "$output" | grep -c '^error ')" 10
}

@test "json: bad literals, numbers and strings are rejected with a byte position" {
	run jt parse <<'EOF2'
[01]
[1.]
[.5]
[-]
[1e]
[tru]
[nul]
[True]
["a	b"]
["\x"]
["\u12"]
{"a":"b
EOF2
	assert_success
	assert_line --index 0 "error invalid number: no leading zeros at byte 2"
	assert_line --index 8 "error control character in a string at byte 4"
	assert_line --index 11 "error truncated: the line ends inside a string"
	assert_equal "$(printf '%s\n' "$output" | grep -c '^error ')" 12
}

@test "json: a blank line is no value" {
	run jt parse <<< "   "
	assert_output "blank"
}

@test "json: every escape unescapes, surrogate pairs join, lone surrogates become U+FFFD" {
	run jt str s <<'EOF2'
{"s":"a\/b\\c\"d\u0041\u00e9\u20ac\ud83d\ude00"}
{"s":"\ud800x\udc00"}
{"s":"tab\there"}
EOF2
	assert_line --index 0 'a/b\c"dAé€😀'
	assert_line --index 1 $'\xef\xbf\xbdx\xef\xbf\xbd'
	assert_line --index 2 $'tab\there'
}

@test "json: the writer escapes control characters and repairs invalid UTF-8" {
	printf '{"s":"\\u0001\\u001f\\n\\"\\\\ \xff \xc3( \xed\xa0\x80 \xf4\x90\x80\x80 \xc0\xaf ok é"}\n' > "$BATS_TEST_TMPDIR/in"
	run jt path s < "$BATS_TEST_TMPDIR/in"
	assert_output $'"\\u0001\\u001f\\n\\"\\\\ \xef\xbf\xbd \xef\xbf\xbd( \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd \xef\xbf\xbd\xef\xbf\xbd ok \xc3\xa9"'
	# and what it writes is JSON jq reads back
	echo "$output" | jq -e . >/dev/null
}

@test "json: 64-bit integers, both limits, and what is not one" {
	for v in 2000000001 -218730916 9223372036854775807 -9223372036854775808 9007199254740993; do
		run jt int n <<< "{\"n\":$v}"
		assert_output "$v"
	done
	for v in 9223372036854775808 -9223372036854775809 1.0 1e3 '"1"' null; do
		run jt int n <<< "{\"n\":$v}"
		assert_output "not an int64"
	done
}

@test "json: lookup by path through objects and arrays; a missing step is missing" {
	doc='{"object":{"message":{"peer_id":2000000002,"attachments":[{"type":"photo"},{"type":"doc"}]}},"k\u0065y":1}'
	run jt path object.message.peer_id <<< "$doc"
	assert_output 2000000002
	run jt path 'object.message.attachments[1].type' <<< "$doc"
	assert_output '"doc"'
	run jt path 'object.message.attachments[2].type' <<< "$doc"
	assert_output missing
	run jt path object.nope.peer_id <<< "$doc"
	assert_output missing
	run jt path key <<< "$doc"
	assert_output 1
}

@test "json: documents of any size grow the token array" {
	python3 -c 'import json; print(json.dumps({"a": list(range(200000)), "b": [{"c": i} for i in range(50000)]}))' > "$BATS_TEST_TMPDIR/big"
	run jt path 'b[49999].c' < "$BATS_TEST_TMPDIR/big"
	assert_output 49999
	run jt path 'a[199999]' < "$BATS_TEST_TMPDIR/big"
	assert_output 199999
}

@test "json: deep nesting is refused where it passes the limit, not a crash" {
	python3 -c 'print("[" * 100000 + "]" * 100000)' > "$BATS_TEST_TMPDIR/deep"
	run jt parse < "$BATS_TEST_TMPDIR/deep"
	assert_success
	assert_output "error nested too deeply at byte 513"
	python3 -c 'print("[" * 512 + "]" * 512)' | jt parse | grep -q '^ok '
}

@test "json: one reader: the same bad line gets the same reason in vk-normalize and vk-route" {
	{
		echo 'this is not json'
		echo '{"type":"message_new","event_id":"x","object":{"message":{"from_id":1'
		echo '{}{}'
		echo '{"a":::"b"}'
		printf '{"a":"b\tc"}\n'
		echo '{"a":[01]}'
		echo '{"a":"\x"}'
		echo '{"a" 1}'
		echo '{"a":1,}'
		python3 -c 'print("{\"a\":" + "[" * 80000 + "]" * 80000 + "}")'
		printf '{"a":"\0"}\n'
	} > "$BATS_TEST_TMPDIR/bad"
	run --separate-stderr vk-normalize --offline "$BATS_TEST_TMPDIR/bad"
	assert_failure 1
	printf '%s\n' "$stderr" | sed -n 's/^vk-normalize: [^:]*: \(line [0-9]*: .*\)/\1/p' > "$BATS_TEST_TMPDIR/n"
	run --separate-stderr vk-route -e '* -> stdout' < "$BATS_TEST_TMPDIR/bad"
	assert_failure 1
	printf '%s\n' "$stderr" | sed -n 's/^vk-route: \(line [0-9]*: .*\)/\1/p' > "$BATS_TEST_TMPDIR/r"
	diff -u "$BATS_TEST_TMPDIR/n" "$BATS_TEST_TMPDIR/r"
	assert_equal "$(wc -l < "$BATS_TEST_TMPDIR/n")" 11
	grep -qx 'line 10: not JSON: nested too deeply at byte 517' "$BATS_TEST_TMPDIR/n"
	grep -qx 'line 11: not JSON: NUL byte at byte 7' "$BATS_TEST_TMPDIR/n"
	grep -qx 'line 2: not JSON: truncated: the line ends inside an object' "$BATS_TEST_TMPDIR/n"
}

@test "line: lines of any length, a last line without newline, and over-long lines skipped whole" {
	{ printf 'short\n'; head -c 300000 /dev/zero | tr '\0' a; printf '\nafter\n'; printf 'tail'; } > "$BATS_TEST_TMPDIR/in"
	run jt lines 1000000 < "$BATS_TEST_TMPDIR/in"
	assert_output $'1: 5\n2: 300000\n3: 5\n4: 4'
	run jt lines 1000 < "$BATS_TEST_TMPDIR/in"
	assert_output $'1: 5\n2: too long\n3: 5\n4: 4'
}

@test "json: the verdict on 20000 mutated lines is the same as Python's strict json module's" {
	python3 - "$BATS_TEST_TMPDIR/lines" <<'PY'
import random, sys
r = random.Random(5)
seeds = [
    '{"type":"message_new","object":{"message":{"from_id":1,"peer_id":2000000001,"text":"a\\"b\\\\c","attachments":[{"type":"photo"}],"geo":null}},"v":"5.199"}',
    '[1,-2.5e3,true,false,null,{"a":[],"b":{}},"\\u00e9"]',
    '{"k":"v","x":{"y":[1,{"z":"w"}]}}',
    '"just a string"', '12', '[[[]]]',
]
alphabet = '{}[]:,"\\ 0123456789-+.eEtrufalsn\t'
with open(sys.argv[1], "w") as out:
    for i in range(20000):
        s = list(r.choice(seeds))
        for _ in range(r.randint(1, 3)):
            k = r.randrange(len(s) + 1)
            op = r.random()
            if op < 0.4 and s:
                del s[min(k, len(s) - 1)]
            elif op < 0.7:
                s.insert(k, r.choice(alphabet))
            elif s:
                s[min(k, len(s) - 1)] = r.choice(alphabet)
        line = "".join(s).replace("\n", " ")
        if not line.strip():
            line = "x"
        out.write(line + "\n")
PY
	same_verdicts_as_python "$BATS_TEST_TMPDIR/lines"
	[ "$(grep -c '^ok$' "$BATS_TEST_TMPDIR/verdicts")" -gt 1000 ]
}

@test "json: long strings, white space and digits: the same verdict at every offset, SIMD or not" {
	# json_check() reads runs sixteen bytes at a time (SSE2); what ends a
	# run may fall at any offset in a block, and the line may end inside one.
	python3 - "$BATS_TEST_TMPDIR/lines" <<'PY'
import sys
specials = ['"', '\\\\', '\\"', '\\u00e9', '\\x', '\\u12', '\t', '\x01', '\x1f', 'é', ' ']
lines = []
for n in range(0, 40):
    for sp in specials:
        body = "a" * n + sp + "b" * (n % 7)
        lines.append('{"k":"%s"}' % body)
        lines.append('["%s' % body)
    lines.append('[' + ' ' * n + '1' + '\t' * (n % 5) + ']')
    lines.append('[' + ' ' * n + 'x]')
    lines.append('{"n":' + '7' * (n + 1) + '.' + '0' * n + 'e+' + '9' * (n % 4 + 1) + '}')
    lines.append('{"n":' + '7' * (n + 1) + 'x}')
    lines.append('[' + '1' * n)
with open(sys.argv[1], "w") as out:
    out.write("\n".join(lines) + "\n")
PY
	same_verdicts_as_python "$BATS_TEST_TMPDIR/lines"
	[ "$(grep -c '^ok$' "$BATS_TEST_TMPDIR/verdicts")" -gt 300 ]
	[ "$(grep -c '^error$' "$BATS_TEST_TMPDIR/verdicts")" -gt 300 ]
}

@test "json: strings that end at every offset of a 64-byte block and across a 2 KB window: the same verdict at every level" {
	# json_check() lists where strings may stop 64 bytes at a time (SSE2,
	# AVX2 or AVX-512, each held to the portable build by json-test), in
	# windows of 2 KB: what ends a string, an escape or a bad byte may fall
	# at any offset of a block or astride a window's end.
	python3 - "$BATS_TEST_TMPDIR/lines" <<'PY'
import sys
specials = ['', '\\"', '\\\\', '\\\\\\"', '\\u00e9', '\\ud83d\\ude00', '\\x', '\\u12', '\\',
            '\t', '\x01', 'é', ' ', '"', '","', '\\/']
offsets = list(range(0, 140)) + list(range(1975, 2120))
lines = []
for n in offsets:
    sp = specials[n % len(specials)]
    lines.append('{"k":"%s%s","x":1}' % ("a" * n, sp))
    lines.append('["%s%s"]' % ("b" * n, specials[(n * 7) % len(specials)]))
    # many short strings, a stop every few bytes, then the special
    body = ",".join('"s%d"' % (i % 10) for i in range(n // 5))
    lines.append('{"a":[%s],"k":"%s"}' % (body, sp))
    # white space with control characters between tokens, around the block ends
    lines.append('[' + '"x",\t' * (n // 5) + ' \t"y"\r\t]')
    # a string not closed
    lines.append('["%s' % ("c" * n))
for k in range(2000, 2090):
    # a long text: strings astride the window's end
    lines.append('{"a":"' + "z" * k + '","b":"q\\"r","c":"' + "w" * (k % 70) + '"}')
with open(sys.argv[1], "w") as out:
    out.write("\n".join(lines) + "\n")
PY
	same_verdicts_as_python "$BATS_TEST_TMPDIR/lines"
	[ "$(grep -c '^ok$' "$BATS_TEST_TMPDIR/verdicts")" -gt 600 ]
	[ "$(grep -c '^error$' "$BATS_TEST_TMPDIR/verdicts")" -gt 600 ]
}
