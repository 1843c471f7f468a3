#!/usr/bin/env bats
# vk-callback --tls-cert/--tls-key: https through libmicrohttpd's GnuTLS.

load helper
load lib-callback

setup() {
	export VK_CALLBACK_SECRET="$CB_SECRET" VK_GROUP_ID=42
	T=$BATS_TEST_TMPDIR
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
		-addext subjectAltName=IP:127.0.0.1 -keyout "$T/key.pem" -out "$T/cert.pem" 2>/dev/null
	chmod 600 "$T/key.pem"
}

teardown() {
	cb_teardown
}

@test "https: the sender verifies the certificate; every update written once" {
	cb_start --tls-cert "$T/cert.pem" --tls-key "$T/key.pem"
	bodies 50
	run -0 send --senders 2 --cafile "$T/cert.pem"
	# Plain http to an https port gets no ok.
	code=$(curl -s -m 5 -o /dev/null -w '%{http_code}' --data-binary "$(event e1)" \
		"http://127.0.0.1:$CB_PORT/") || true
	[ "$code" != 200 ]
	cb_stop
	assert_equal "$status" 0
	diff <(sort "$EXPECTED") <(sort "$CB_OUT")
}

@test "a key that is not the certificate's, or not PEM: exit 3 with the reason" {
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=other \
		-keyout "$T/other.pem" -out "$T/other.crt" 2>/dev/null
	run -3 vk-callback --listen 127.0.0.1:0 --tls-cert "$T/cert.pem" --tls-key "$T/other.pem"
	assert_output --partial 'libmicrohttpd would not start'
	run -3 vk-callback --listen 127.0.0.1:0 --tls-cert "$T/cert.pem" --tls-key "$T/nonexistent"
	assert_output --partial 'cannot read'
	# The key's bytes never show in a message.
	refute_output --partial 'PRIVATE KEY'
}
