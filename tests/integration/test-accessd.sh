#!/bin/bash
# berth-accessd as its clients use it: logins in the berth and pam realms, ticket renewal and
# verification, API tokens, permissions, and every change refused when it should be.
. "$(dirname "$0")/lib.sh"

start_bus
# The pam realm's service, under the test's root, checking the host's users with pam_unix.
mkdir -p "$ROOT/etc/pam.d"
printf 'auth required pam_unix.so\naccount required pam_unix.so\n' >"$ROOT/etc/pam.d/berth"
start_daemon berth-accessd org.berth.access1

acall() { bbus call org.berth.access1 /org/berth/access1 org.berth.access1.Manager "$@"; }
# ecall METHOD SIGNATURE ARGS...: as acall, through gdbus, which names the D-Bus error of a failure.
ecall() {
        local method=$1 args
        shift
        mapfile -t args < <(python3 "$src/tests/integration/busctl-to-gvariant.py" "$@")
        gdbus call --address "$BERTH_BUS_ADDRESS" --dest org.berth.access1 --object-path /org/berth/access1 \
                --method "org.berth.access1.Manager.$method" "${args[@]}"
}
# login USER PASSWORD: prints "ticket csrf canonical" (the cap map dropped).
login() { acall Authenticate ssa{sv} "$1" "$2" 0 | python3 -c '
import shlex, sys
w = shlex.split(sys.stdin.read())
print(w[1], w[2], w[3])'; }
digest() { bbus get-property org.berth.access1 /org/berth/access1 org.berth.access1.Manager Digest | cut -d'"' -f2; }
user_cfg=$ROOT/var/lib/berth/store/access/user.cfg

# The berth realm.
acall CreateUser sa{sv} alice@berth 2 password s "correct horse" comment s "first user" >/dev/null ||
        fail "CreateUser failed"
grep -qx 'user:alice@berth:1:0::::first user::' "$user_cfg" || fail "user.cfg: $(cat "$user_cfg")"
grep -q '^alice@berth:\$y\$' "$ROOT/var/lib/berth/store/access/shadow.cfg" || fail "no yescrypt hash kept"
grep -q "correct horse" "$ROOT"/var/lib/berth/store/access/* && fail "the password is in the store"
read -r ticket csrf canonical < <(login alice@berth "correct horse") || fail "login of alice@berth failed"
[[ $ticket =~ ^PVE:alice@berth:[0-9A-F]{8}::[A-Za-z0-9+/]+=*$ ]] || fail "ticket '$ticket'"
[[ $csrf =~ ^[0-9A-F]{8}:[A-Za-z0-9+/]+$ ]] || fail "CSRF token '$csrf'"
[ "$canonical" = alice@berth ] || fail "canonical '$canonical'"
read -r _ _ canonical < <(login alice@pve "correct horse") || fail "login as alice@pve failed"
[ "$canonical" = alice@berth ] || fail "alice@pve is '$canonical'"
ok "a berth realm user logs in (also as @pve) with a signed ticket and a CSRF token"

expect_error org.berth.Error.AuthenticationFailed ecall Authenticate ssa{sv} alice@berth "wrong horse" 0
expect_error org.berth.Error.AuthenticationFailed ecall Authenticate ssa{sv} nobody@berth "correct horse" 0
expect_error org.berth.Error.AuthenticationFailed ecall Authenticate ssa{sv} alice@pam "correct horse" 0
ok "a wrong password, an unknown user and the wrong realm are refused alike"

[ "$(acall VerifyTicket sa{sv} "$ticket" 1 csrf s "$csrf")" = 's "alice@berth"' ] || fail "VerifyTicket"
expect_error org.berth.Error.AuthenticationFailed ecall VerifyTicket sa{sv} "${ticket%?}A" 0
expect_error org.berth.Error.AuthenticationFailed ecall VerifyTicket sa{sv} "${ticket/alice/alicf}" 0
expect_error org.berth.Error.AuthenticationFailed ecall VerifyTicket sa{sv} "$ticket" 1 csrf s "${csrf%?}x"
read -r renewed _ _ < <(login alice@berth "$ticket") || fail "renewal with the ticket failed"
[[ $renewed == PVE:alice@berth:* ]] || fail "renewed ticket '$renewed'"
expect_error org.berth.Error.AuthenticationFailed ecall Authenticate ssa{sv} root@pam "$ticket" 0
ok "tickets verify (with CSRF), tampered ones do not, and a ticket renews only its own user"

# Keys live in the store: a restarted accessd takes the tickets it issued before.
stop_daemon berth-accessd
start_daemon berth-accessd org.berth.access1
[ "$(acall VerifyTicket sa{sv} "$ticket" 0)" = 's "alice@berth"' ] || fail "ticket lost with the restart"
ok "a ticket survives a restart of accessd"

d=$(digest)
acall UpdateUser sa{sv} alice@berth 1 enable b false >/dev/null || fail "disable failed"
expect_error org.berth.Error.AuthenticationFailed ecall Authenticate ssa{sv} alice@berth "correct horse" 0
expect_error org.berth.Error.AuthenticationFailed ecall VerifyTicket sa{sv} "$ticket" 0
expect_error org.berth.Error.DigestMismatch ecall UpdateUser sa{sv} alice@berth 2 enable b true digest s "$d"
acall UpdateUser sa{sv} alice@berth 2 enable b true digest s "$(digest)" >/dev/null || fail "enable failed"
login alice@berth "correct horse" >/dev/null || fail "re-enabled alice cannot log in"
ok "a disabled user neither logs in nor keeps its tickets; a stale digest changes nothing"

# The pam realm: a real user of this host.
pamuser=berthpam$$
useradd --no-create-home --shell /usr/sbin/nologin "$pamuser"
trap 'userdel "$pamuser" 2>/dev/null || true; cleanup' EXIT
echo "$pamuser:pam pass 1" | chpasswd
expect_error org.berth.Error.AuthenticationFailed ecall Authenticate ssa{sv} "$pamuser@pam" "pam pass 1" 0
acall CreateUser sa{sv} "$pamuser@pam" 0 >/dev/null || fail "CreateUser of a pam user failed"
read -r _ _ canonical < <(login "$pamuser@pam" "pam pass 1") || fail "pam login failed"
[ "$canonical" = "$pamuser@pam" ] || fail "pam canonical '$canonical'"
expect_error org.berth.Error.AuthenticationFailed ecall Authenticate ssa{sv} "$pamuser@pam" "pam pass 2" 0
expect_error org.berth.Error.InvalidArgument ecall SetPassword ssa{sv} "$pamuser@pam" "other pass" 0
ok "a host user logs in through PAM once user.cfg has it; a wrong password fails"

# Tokens.
read -r tokenid secret < <(acall CreateToken ssa{sv} alice@berth ci 1 comment s "for CI" | tr -d '"' | cut -d' ' -f2-)
[ "$tokenid" = 'alice@berth!ci' ] && [[ $secret =~ ^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$ ]] ||
        fail "CreateToken gave '$tokenid' '$secret'"
grep -q "$secret" "$ROOT"/var/lib/berth/store/access/* && fail "the token secret is in the store"
[ "$(acall VerifyToken sa{sv} "PVEAPIToken=$tokenid=$secret" 0)" = 's "alice@berth!ci"' ] || fail "VerifyToken"
expect_error org.berth.Error.AuthenticationFailed ecall VerifyToken sa{sv} "PVEAPIToken=$tokenid=${secret%?}0" 0
expect_error org.berth.Error.AuthenticationFailed ecall VerifyToken sa{sv} "PVEAPIToken=alice@berth!other=$secret" 0
acall UpdateToken ssa{sv} alice@berth ci 1 expire t 1 >/dev/null || fail "UpdateToken failed"
expect_error org.berth.Error.AuthenticationFailed ecall VerifyToken sa{sv} "PVEAPIToken=$tokenid=$secret" 0
ok "a token verifies with its secret only, and not once expired; the secret is kept only as a hash"

# Permissions: a role on one guest, a privilege-separated token limited to its own grants.
acall UpdateAcl sasa{sv} /vms/100 1 PVEVMUser 1 users as 1 alice@berth >/dev/null || fail "UpdateAcl failed"
perms() { acall GetPermissions ssa{sv} "$1" "$2" 0; }
case $(perms alice@berth /vms/100) in *'"VM.PowerMgmt"'*) ;; *) fail "alice lacks VM.PowerMgmt on /vms/100" ;; esac
case $(perms alice@berth /vms/101) in *'"VM.'*) fail "alice has privileges on /vms/101" ;; esac
acall CreateToken ssa{sv} alice@berth sep 0 >/dev/null || fail "second token"
case $(perms 'alice@berth!sep' /vms/100) in *'"VM.'*) fail "a privsep token without grants has privileges" ;; esac
acall UpdateAcl sasa{sv} /vms 1 PVEAuditor 1 tokens as 1 'alice@berth!sep' >/dev/null || fail "token grant"
p=$(perms 'alice@berth!sep' /vms/100)
case $p in *'"VM.Audit"'*) ;; *) fail "the token lacks VM.Audit: $p" ;; esac
case $p in *'"VM.PowerMgmt"'*) fail "the token has more than its own grants: $p" ;; esac
case $(perms 'alice@berth!sep' /vms/200) in *'"VM.Audit"'*) fail "the token got more than its user has" ;; esac
ok "permissions follow the ACL; a privsep token gets the intersection of its own and its user's"

# Refusals, as alice (root names her, as the gateway would).
expect_error org.berth.Error.PermissionDenied ecall CreateUser sa{sv} bob@berth 1 user s alice@berth
expect_error org.berth.Error.PermissionDenied ecall UpdateAcl sasa{sv} / 1 Administrator 2 users as 1 alice@berth user s alice@berth
expect_error org.berth.Error.PermissionDenied ecall GetPermissions ssa{sv} root@pam / 1 user s alice@berth
expect_error org.berth.Error.PermissionDenied setpriv --reuid=nobody --regid=nogroup --clear-groups \
        bash -c "$(declare -f ecall); src=$src BERTH_BUS_ADDRESS=$BERTH_BUS_ADDRESS ecall GetPermissions ssa{sv} alice@berth / 1 user s root@pam"
[ "$(acall GetPermissions ssa{sv} '' /vms/100 1 user s alice@berth | grep -c PowerMgmt)" = 1 ] ||
        fail "alice cannot read her own permissions"
acall SetPassword ssa{sv} alice@berth "new horse" 1 user s alice@berth >/dev/null || fail "alice cannot set her password"
login alice@berth "new horse" >/dev/null || fail "the new password does not work"
grep -q '^user:bob@berth' "$user_cfg" && fail "a refused CreateUser made bob"
ok "a user without User.Modify or Permissions.Modify changes nothing but her own password"

# Bad input, named.
expect_error org.berth.Error.InvalidArgument ecall CreateUser sa{sv} 'no realm' 0
expect_error org.berth.Error.Exists ecall CreateUser sa{sv} alice@berth 0
expect_error org.berth.Error.NotFound ecall DeleteUser sa{sv} carol@berth 0
expect_error org.berth.Error.InvalidArgument ecall CreateRole sasa{sv} Ops 1 VM.Fly 0
expect_error org.berth.Error.PermissionDenied ecall UpdateRole sasa{sv} Administrator 1 VM.Audit 0
expect_error org.berth.Error.InvalidArgument ecall UpdateAcl sasa{sv} /no/such/path 1 PVEAuditor 1 users as 1 alice@berth
expect_error org.berth.Error.InvalidArgument ecall CreateUser sa{sv} dave@berth 1 bogus b true
ok "malformed ids, unknown privileges, built-in roles, bad paths and unknown options are refused by name"

# Removing a user takes its tokens, grants and password with it.
acall DeleteUser sa{sv} alice@berth 0 >/dev/null || fail "DeleteUser failed"
grep -q alice "$user_cfg" && fail "alice left in user.cfg: $(cat "$user_cfg")"
grep -q alice "$ROOT"/var/lib/berth/store/access/{token,shadow}.cfg && fail "alice's secrets left"
expect_error org.berth.Error.AuthenticationFailed ecall Authenticate ssa{sv} alice@berth "new horse" 0
ok "a removed user is gone with its tokens, ACL entries and password"

finish
