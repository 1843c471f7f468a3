#!/usr/bin/env bats
# vk-call uploads: photos, documents and voice messages through VK's three
# steps against the fake VK; who reads the file; limits; faults; the limiter.

load helper
load lib-call

teardown() {
	call_teardown
	[ -z "${SOCKDIR:-}" ] || rm -rf "$SOCKDIR"
}

setup() {
	UP="$BATS_TEST_TMPDIR/up"
	STORE="$BATS_TEST_TMPDIR/store"
	mkdir -p "$UP" "$STORE"
	head -c 70000 /dev/urandom > "$UP/chart.png"
	head -c 3000 /dev/urandom > "$UP/report.pdf"
	head -c 1500 /dev/urandom > "$UP/hello.ogg"
}

# api_requests: requests to VK API methods (the upload server's are not)
api_requests() { jq -c 'select(.endpoint != "upload")' "$LOG" | grep -c . || true; }
# stored ID: the bytes the fake upload server kept for upload ID (u1, ...)
upload_of() { jq -r --arg f "$1" 'select(.endpoint == "upload" and .filename == $f and .ok) | .id' "$LOG" | tail -n 1; }

@test "upload: photo, doc and audio_message from --upload-dir and \"data\" arrive byte for byte; attachments from VK's saves; no token in any upload" {
	call_fake "{\"upload_store\":\"$STORE\"}"
	printf '%s\n' \
		'{"id":"u1","upload":{"type":"photo","peer_id":2000000002,"file":"chart.png"}}' \
		"{\"id\":\"u2\",\"upload\":{\"type\":\"doc\",\"peer_id\":2000000002,\"file\":\"$UP/report.pdf\",\"title\":\"Report\"}}" \
		'{"id":"u3","upload":{"type":"audio_message","peer_id":206295116,"file":"hello.ogg"}}' \
		"{\"id\":\"u4\",\"upload\":{\"type\":\"doc\",\"peer_id\":5,\"data\":\"$(printf 'hello, world\n' | base64 -w0)\",\"name\":\"hi.txt\"}}" \
		> "$BATS_TEST_TMPDIR/in"
	run --separate-stderr vk-call --upload-dir "$UP" < "$BATS_TEST_TMPDIR/in"
	assert_success
	assert_line --regexp '^\{"id":"u1","response":\{"attachment":"photo-42_4572390[0-9]+_ak[0-9]+","saved":\[\{.*"owner_id":-42.*\}\]\}\}$'
	assert_line --regexp '^\{"id":"u2","response":\{"attachment":"doc-42_660[0-9]+","saved":\{"type":"doc","doc":\{.*"title":"Report".*\}\}\}\}$'
	assert_line --regexp '^\{"id":"u3","response":\{"attachment":"doc-42_660[0-9]+","saved":\{"type":"audio_message","audio_message":\{.*\}\}\}\}$'
	assert_line --regexp '^\{"id":"u4","response":\{"attachment":"doc-42_660[0-9]+",'
	cmp "$STORE/$(upload_of chart.png)" "$UP/chart.png"
	cmp "$STORE/$(upload_of report.pdf)" "$UP/report.pdf"
	cmp "$STORE/$(upload_of hello.ogg)" "$UP/hello.ogg"
	assert_equal "$(cat "$STORE/$(upload_of hi.txt)")" "hello, world"
	# field names as VK wants them; the token never in an upload
	assert_equal "$(jq -r 'select(.endpoint == "upload") | "\(.type) \(.field)"' "$LOG" | sort | paste -sd,)" \
		"audio_message file,doc file,doc file,photo photo"
	assert_equal "$(jq -r 'select(.endpoint == "upload") | .token_seen' "$LOG" | sort -u)" false
	# step 1 shares an execute; the saves go alone
	assert_equal "$(jq -r 'select(.endpoint == "execute") | .calls[]' "$LOG" | sort | uniq -c | awk '{print $1, $2}' | paste -sd,)" \
		"3 docs.getMessagesUploadServer,1 photos.getMessagesUploadServer"
	assert_equal "$(jq -r 'select(.endpoint == "docs.getMessagesUploadServer" or .endpoint == "execute") | .call_params[]? | select(.type) | .type' "$LOG" | sort | paste -sd,)" \
		"audio_message,doc,doc"
	assert_equal "$(jq -r 'select(.endpoint == "docs.save") | .form.title // empty' "$LOG")" Report
	assert_equal "$(jq -c 'select(.endpoint == "photos.saveMessagesPhoto")' "$LOG" | grep -c .)" 1
}

@test "upload: refusals are exact: no --upload-dir, .., an absolute path or a symlink out, a FIFO, --max-upload, bad base64, both file and data" {
	call_fake '{}'
	ln -s /etc/passwd "$UP/link"
	ln -s ../outside "$UP/rel"
	echo secret > "$BATS_TEST_TMPDIR/outside"
	mkfifo "$UP/fifo"
	printf '%s\n' '{"id":1,"upload":{"type":"photo","peer_id":5,"file":"chart.png"}}' > "$BATS_TEST_TMPDIR/in1"
	run --separate-stderr vk-call < "$BATS_TEST_TMPDIR/in1"
	assert_failure 1
	assert_output '{"id":1,"error":{"error_code":-1,"error_msg":"line 1: upload.file: vk-call reads files only beneath --upload-dir (or send them through vk-call --connect)"}}'
	printf '%s\n' \
		'{"id":2,"upload":{"type":"doc","peer_id":5,"file":"../outside"}}' \
		'{"id":3,"upload":{"type":"doc","peer_id":5,"file":"/etc/passwd"}}' \
		'{"id":4,"upload":{"type":"doc","peer_id":5,"file":"link"}}' \
		'{"id":5,"upload":{"type":"doc","peer_id":5,"file":"rel"}}' \
		'{"id":6,"upload":{"type":"doc","peer_id":5,"file":"fifo"}}' \
		'{"id":7,"upload":{"type":"photo","peer_id":5,"file":"chart.png"}}' \
		'{"id":8,"upload":{"type":"doc","peer_id":5,"data":"@@@"}}' \
		'{"id":9,"upload":{"type":"doc","peer_id":5,"data":"aGk=","file":"x"}}' \
		'{"id":10,"upload":{"type":"video","peer_id":5,"data":"aGk="}}' \
		'{"id":11,"upload":{"type":"doc","peer_id":5,"data":"aGk=","name":"../x"}}' \
		'{"id":12,"upload":{"type":"doc","peer_id":5,"data":"aGk="}}' > "$BATS_TEST_TMPDIR/in2"
	run --separate-stderr vk-call --upload-dir "$UP" --max-upload 60000 < "$BATS_TEST_TMPDIR/in2"
	assert_failure 1
	out='outside --upload-dir (an absolute path, \"..\" or a link leading out)'
	assert_line "{\"id\":2,\"error\":{\"error_code\":-1,\"error_msg\":\"line 1: upload.file: $out\"}}"
	assert_line "{\"id\":3,\"error\":{\"error_code\":-1,\"error_msg\":\"line 2: upload.file: $out\"}}"
	assert_line "{\"id\":4,\"error\":{\"error_code\":-1,\"error_msg\":\"line 3: upload.file: $out\"}}"
	assert_line "{\"id\":5,\"error\":{\"error_code\":-1,\"error_msg\":\"line 4: upload.file: $out\"}}"
	assert_line '{"id":6,"error":{"error_code":-1,"error_msg":"line 5: upload.file: not a regular file"}}'
	assert_line '{"id":7,"error":{"error_code":-1,"error_msg":"line 6: upload.file: 70000 bytes, over the limit of 60000 (--max-upload)"}}'
	assert_line '{"id":8,"error":{"error_code":-1,"error_msg":"line 7: upload.data: not base64"}}'
	assert_line '{"id":9,"error":{"error_code":-1,"error_msg":"line 8: upload: either \"file\" or \"data\" (base64)"}}'
	assert_line '{"id":10,"error":{"error_code":-1,"error_msg":"line 9: upload.type: photo, doc or audio_message"}}'
	assert_line --partial '{"id":11,"error":{"error_code":-1,"error_msg":"line 10: upload.name: \"../x\" is not a file name'
	assert_line --regexp '^\{"id":12,"response":\{"attachment":"doc-42_'
	# nothing but the one good upload reached VK
	assert_equal "$(jq -r 'select(.endpoint == "upload") | .size' "$LOG")" 2
}

@test "upload: --connect opens the file as the handler; a server running as another user sends a file it could not read itself" {
	[ "$(id -u)" = 0 ] || skip "needs root to run the server as nobody"
	command -v setpriv > /dev/null || skip "no setpriv"
	call_fake "{\"upload_store\":\"$STORE\"}"
	chmod 700 "$UP"
	chmod 600 "$UP/chart.png"
	# a directory both users reach (the test's own is root's alone)
	SOCKDIR=$(mktemp -d /tmp/vk-call-upload.XXXXXX)
	chmod 1777 "$SOCKDIR"
	SOCK="$SOCKDIR/call.sock"
	setpriv --reuid=nobody --regid=nogroup --clear-groups "$VKPIPE_BIN/vk-call" --listen "unix:$SOCK" 2> "$BATS_TEST_TMPDIR/srv.err" &
	SRV_PID=$!
	wait_until 10 vk-call --connect "unix:$SOCK" < /dev/null 2> /dev/null
	# the server itself cannot read it
	run setpriv --reuid=nobody --regid=nogroup --clear-groups cat "$UP/chart.png"
	assert_failure
	printf '%s\n' "{\"id\":\"c1\",\"upload\":{\"type\":\"photo\",\"peer_id\":7,\"file\":\"$UP/chart.png\"}}" \
		'{"id":"c2","upload":{"type":"doc","peer_id":7,"file":"no-such.pdf"}}' \
		'{"id":"c3","method":"messages.send","params":{"peer_id":7,"message":"x"}}' > "$BATS_TEST_TMPDIR/in"
	run vk-call --connect "unix:$SOCK" < "$BATS_TEST_TMPDIR/in"
	assert_failure 1
	assert_line --regexp '^\{"id":"c1","response":\{"attachment":"photo-42_'
	assert_line '{"id":"c2","error":{"error_code":-1,"error_msg":"upload.file: no-such.pdf: No such file or directory (opened by vk-call --connect, as its user)"}}'
	assert_line --regexp '^\{"id":"c3","response":[0-9]+\}$'
	cmp "$STORE/$(upload_of chart.png)" "$UP/chart.png"
	# a client sending a path without its descriptor: the server opens nothing
	run "$PYTHON" - "$SOCK" "$UP/chart.png" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(json.dumps({"id": "raw", "upload": {"type": "photo", "peer_id": 7, "file": sys.argv[2]}}).encode() + b"\n")
s.shutdown(socket.SHUT_WR)
print(s.makefile().readline().strip())
PY
	assert_output '{"id":"raw","error":{"error_code":-1,"error_msg":"line 1: upload.file: no descriptor came with the line (send files through vk-call --connect)"}}'
}

@test "upload: an upload server that drops the connection is retried; one never reachable gives -2 naming the step" {
	call_fake "{\"upload_store\":\"$STORE\",\"faults\":[{\"on\":\"upload\",\"nth\":1,\"do\":\"drop\"},{\"on\":\"upload\",\"nth\":2,\"do\":\"garbage\"}]}"
	run --separate-stderr vk-call --upload-dir "$UP" <<<'{"id":"d1","upload":{"type":"doc","peer_id":5,"file":"report.pdf"}}'
	assert_success
	assert_output --regexp '^\{"id":"d1","response":\{"attachment":"doc-42_'
	assert_equal "$(jq -r 'select(.endpoint == "upload") | .fault // "ok"' "$LOG" | paste -sd,)" "drop,garbage,ok"
	cmp "$STORE/$(upload_of report.pdf)" "$UP/report.pdf"
	# nothing listens there
	port=$("$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	call_fake "{\"upload_url\":\"http://127.0.0.1:$port/upload\"}"
	run --separate-stderr vk-call --upload-dir "$UP" <<<'{"id":"d2","upload":{"type":"photo","peer_id":5,"file":"chart.png"}}'
	assert_failure 1
	assert_output --regexp '^\{"id":"d2","error":\{"error_code":-2,"error_msg":"upload: .*"\}\}$'
	assert_equal "$(jq -r .endpoint "$LOG" | grep -c photos.saveMessagesPhoto)" 0
	# a VK error at step 1 names the method
	call_fake '{"faults":[{"on":"docs.getMessagesUploadServer","nth":1,"do":"api_error","code":15,"msg":"Access denied"}]}'
	run --separate-stderr vk-call --upload-dir "$UP" <<<'{"id":"d3","upload":{"type":"doc","peer_id":5,"file":"report.pdf"}}'
	assert_failure 1
	assert_output '{"id":"d3","error":{"error_code":15,"error_msg":"docs.getMessagesUploadServer: Access denied"}}'
}

@test "upload: 30 photo uploads at once within 20 API requests per second; a chat's text messages are not held back by them" {
	call_fake '{"api_rate":20,"api_latency":0.03}'
	{
		for i in $(seq 1 30); do
			cp "$UP/chart.png" "$UP/p$i.png"
			printf '{"id":"p%d","upload":{"type":"photo","peer_id":%d,"file":"p%d.png"}}\n' "$i" "$((2000000000 + i))" "$i"
		done
		sends 20 t 2000000100
	} > "$BATS_TEST_TMPDIR/in"
	t0=$EPOCHREALTIME
	run --separate-stderr vk-call --upload-dir "$UP" < "$BATS_TEST_TMPDIR/in"
	t1=$EPOCHREALTIME
	assert_success
	assert_equal "$(grep -c '"attachment":"photo-42_' <<<"$output")" 30
	assert_equal "$(grep -c '^{"id":"t' <<<"$output")" 20
	refute grep -q rate_limited "$LOG"
	[ "$(jq -c 'select(.endpoint != "upload")' "$LOG" | jq -s '[.[].t] | sort as $t | [range(0; $t | length) as $i
		| [$t[$i:][] | select(. < $t[$i] + 1)] | length] | max')" -le 20 ]
	# the text messages went in the first requests, before any save
	first_save=$(jq -r 'select(.endpoint == "photos.saveMessagesPhoto") | .n' "$LOG" | head -n 1)
	last_text=$(jq -r 'select(.endpoint == "execute" and (.calls | index("messages.send"))) | .n' "$LOG" | tail -n 1)
	[ "$last_text" -lt "$first_save" ]
	echo "30 photo uploads: $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }') s, $(api_requests) API requests" >&3
}
