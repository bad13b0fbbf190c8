#!/bin/bash
# berthctl access against a real berth-accessd, as root@pam on a private bus:
# groups, roles, a berth realm user with a password, logins with the right and
# a wrong password, ACL entries, an API token and its secret, permissions, in
# table and JSON form; then everything removed is gone and no longer works.
. "$(dirname "$0")/lib.sh"

accessd=$build/daemons/accessd/berth-accessd
if [ ! -x "$accessd" ]; then
        echo "SKIP: $accessd is not built"
        exit 77
fi

start_bus
start_daemon berth-accessd org.berth.access1

# json EXPR: evaluates the Python expression EXPR on the JSON document on stdin (as "d"), prints it.
json() { python3 -c "import json, sys; d = json.load(sys.stdin); print(($1))"; }

pw=$T/alice.pw
printf 'correct horse battery\n' >"$pw"
wrong=$T/wrong.pw
printf 'wrong horse\n' >"$wrong"
chmod 600 "$pw" "$wrong"

bctl access group add ops --comment "Operators"
[ "$(bctl access group list -o json | json '[g["comment"] for g in d if g["groupid"] == "ops"]')" = "['Operators']" ] ||
        fail "group ops is not listed with its comment"
ok "group add"

bctl access role add VMOps VM.Audit,VM.PowerMgmt
[ "$(bctl access role list -o json | json 'sorted([r for r in d if r["roleid"] == "VMOps"][0]["privs"])')" = \
        "['VM.Audit', 'VM.PowerMgmt']" ] || fail "role VMOps does not have its privileges"
bctl access role list | grep -Eq '^VMOps +no +VM\.Audit;VM\.PowerMgmt$' || fail "role VMOps is not in the table"
ok "role add, in json and table form"

bctl access user add alice@berth --password-file "$pw" --groups ops --email alice@example.com \
        --comment "test user"
bctl access user list | grep -Eq '^alice@berth +yes ' || fail "alice@berth is not in the user table"
[ "$(bctl access user list -o json | json '[(u["enable"], u["groups"]) for u in d if u["userid"] == "alice@berth"]')" = \
        "[(True, ['ops'])]" ] || fail "alice@berth is not listed enabled in group ops"
[ "$(bctl access user show alice@berth -o json | json 'd["email"]')" = alice@example.com ] ||
        fail "user show does not give alice's email"
bctl access user show alice@berth | grep -qx 'email: alice@example.com' || fail "user show's text lacks the email"
[ "$(bctl access group list -o json | json '[g["members"] for g in d if g["groupid"] == "ops"]')" = \
        "[['alice@berth']]" ] || fail "group ops does not list alice@berth as a member"
ok "user add with a password and a group"

login=$(bctl access login alice@berth --password-file "$pw" -o json)
ticket=$(json 'd["ticket"]' <<<"$login")
case $ticket in
PVE:alice@berth:*) ;;
*) fail "login gave the ticket '$ticket'" ;;
esac
[ "$(json 'd["username"], bool(d["csrf"]), sorted(d["cap"])' <<<"$login")" = \
        "('alice@berth', True, ['access', 'dc', 'nodes', 'storage', 'vms'])" ] ||
        fail "login's reply is incomplete: $login"
[ "$(bctl access verify-ticket "$ticket")" = alice@berth ] || fail "the ticket of the login does not verify"
printf '%s\n' "$ticket" | bctl access verify-ticket - >/dev/null || fail "verify-ticket does not read stdin"
ok "login with the right password gives a ticket that verifies"

bctl access login alice@berth <"$pw" | grep -q '^ticket: PVE:alice@berth:' ||
        fail "login does not read the password from stdin"
ok "login reads the password from stdin"

expect_error AuthenticationFailed bctl access login alice@berth --password-file "$wrong"
rc=0
bctl access login alice@berth --password-file "$wrong" >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 1 ] || fail "a failed login exits $rc, expected 1"
expect_error AuthenticationFailed bctl access verify-ticket "${ticket%?}x"
ok "a wrong password and a forged ticket are refused"

bctl access acl grant /vms/100 VMOps --users alice@berth
[ "$(bctl access acl list -o json | json '[(a["type"], a["roleid"], a["propagate"]) for a in d
        if a["path"] == "/vms/100" and a["ugid"] == "alice@berth"]')" = "[('user', 'VMOps', True)]" ] ||
        fail "the ACL entry is not listed"
bctl access acl list | grep -Eq '^/vms/100 +user +alice@berth +VMOps +yes$' || fail "the ACL entry is not in the table"
[ "$(bctl access permissions alice@berth --path /vms/100 -o json | json '"VM.PowerMgmt" in d["/vms/100"]')" = True ] ||
        fail "alice@berth lacks VM.PowerMgmt on /vms/100"
ok "acl grant, permissions"

token=$(bctl access token add alice@berth ci --privsep 0 --comment "CI" -o json 2>"$T/token.err")
tokenid=$(json 'd["tokenid"]' <<<"$token")
secret=$(json 'd["secret"]' <<<"$token")
if [ "$tokenid" != 'alice@berth!ci' ] || [ -z "$secret" ]; then
        fail "token add printed '$token'"
fi
grep -q 'not shown again' "$T/token.err" || fail "token add does not say the secret is shown once"
[ "$(bctl access token list alice@berth -o json | json '[(t["tokenid"], t["privsep"]) for t in d]')" = \
        "[('ci', False)]" ] || fail "the token is not listed"
[ "$(bctl access verify-token "PVEAPIToken=$tokenid=$secret")" = "$tokenid" ] || fail "the token does not verify"
expect_error AuthenticationFailed bctl access verify-token "PVEAPIToken=$tokenid=${secret}x"
ok "token add, list, verify-token with its secret and refused with another"

printf 'new horse\n' >"$T/new.pw"
bctl access user passwd alice@berth --password-file "$T/new.pw"
expect_error AuthenticationFailed bctl access login alice@berth --password-file "$pw"
bctl access login alice@berth --password-file "$T/new.pw" >/dev/null || fail "the new password does not log in"
ok "user passwd"

bctl access user set alice@berth --delete email --firstname Alice
[ "$(bctl access user show alice@berth -o json | json 'd.get("firstname"), d.get("email", "")')" = "('Alice', '')" ] ||
        fail "user set did not set the first name and clear the email"
ok "user set"

bctl access acl revoke /vms/100 VMOps --users alice@berth
[ "$(bctl access acl list -o json | json 'len([a for a in d if a["path"] == "/vms/100"])')" = 0 ] ||
        fail "the revoked ACL entry is still listed"
ok "acl revoke"

bctl access token remove alice@berth ci
[ "$(bctl access token list alice@berth -o json | json 'len(d)')" = 0 ] || fail "the removed token is listed"
expect_error AuthenticationFailed bctl access verify-token "PVEAPIToken=$tokenid=$secret"
ok "token remove: gone, and its secret no longer verifies"

bctl access user remove alice@berth
[ "$(bctl access user list -o json | json 'len([u for u in d if u["userid"] == "alice@berth"])')" = 0 ] ||
        fail "the removed user is listed"
expect_error NotFound bctl access user show alice@berth
expect_error AuthenticationFailed bctl access login alice@berth --password-file "$T/new.pw"
ok "user remove: gone, and it no longer logs in"

bctl access role remove VMOps
bctl access group remove ops
[ "$(bctl access role list -o json | json 'len([r for r in d if r["roleid"] == "VMOps"])')" = 0 ] ||
        fail "the removed role is listed"
[ "$(bctl access group list -o json | json 'len(d)')" = 0 ] || fail "the removed group is listed"
expect_error NotFound bctl access group remove ops
ok "role and group remove"

finish
