package awsiam

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
)

// Markers after the time in the lockgate:locked tag's value.
const (
	markDenyKept     = "deny=kept"
	markLoginDeleted = "login=deleted"
)

// userState is lockgate's record of a user: its tags, or the lock
// service's ledger when the tags could not be written.
type userState struct {
	locked bool
	at     time.Time
	keys   []string
	tagged []string // lockgate's tag keys present
	// denyKept: a deny-all was in place before lockgate's lock, so the
	// unlock leaves it.
	denyKept     bool
	loginDeleted bool
	// foreign is a lockgate:locked value lockgate did not write: the
	// user is not lockgate's to restore.
	foreign string
	// inLedger: the record is kept by the lock service, not in tags.
	inLedger bool
	// denyPresent: a deny-all is attached (read only when there is no
	// tag record).
	denyPresent bool
}

// lockedValue is the lockgate:locked tag's value: the time, then the
// markers.
func lockedValue(st userState) string {
	v := st.at.UTC().Format(timeFormat)
	if st.denyKept {
		v += " " + markDenyKept
	}
	if st.loginDeleted {
		v += " " + markLoginDeleted
	}
	return v
}

// parseLockedValue reads a lockgate:locked value; false when lockgate
// did not write it (another format, another word).
func parseLockedValue(v string) (at time.Time, denyKept, loginDeleted, ok bool) {
	f := strings.Split(v, " ")
	at, err := time.Parse(timeFormat, f[0])
	if err != nil || at.Format(timeFormat) != f[0] {
		return time.Time{}, false, false, false
	}
	for _, m := range f[1:] {
		switch {
		case m == markDenyKept && !denyKept:
			denyKept = true
		case m == markLoginDeleted && !loginDeleted:
			loginDeleted = true
		default:
			return time.Time{}, false, false, false
		}
	}
	return at, denyKept, loginDeleted, true
}

func readUserState(tags map[string]string) userState {
	var st userState
	for k := range tags {
		if k == tagLocked || strings.HasPrefix(k, tagKeyPrefix) || k == legacyState || k == legacyDecidedAt || k == legacyKeys || k == legacyLockedAt {
			st.tagged = append(st.tagged, k)
		}
	}
	sort.Strings(st.tagged)
	if v, ok := tags[tagLocked]; ok {
		at, kept, login, ours := parseLockedValue(v)
		if !ours {
			// Not lockgate's date: it cannot be ordered against a
			// decision nor trusted to say what lockgate attached.
			return userState{foreign: v}
		}
		st.locked, st.at, st.denyKept, st.loginDeleted = true, at, kept, login
	} else if tags[legacyState] == "locked" {
		st.locked = true
		st.at, _ = time.Parse(time.RFC3339Nano, tags[legacyDecidedAt])
	}
	for _, k := range st.tagged {
		if strings.HasPrefix(k, tagKeyPrefix) {
			st.keys = append(st.keys, tags[k])
		}
	}
	st.keys = union(st.keys, strings.FieldsFunc(tags[legacyKeys], func(r rune) bool { return r == ',' || r == ' ' }))
	return st
}

func (r *Responder) applyUser(ctx context.Context, out *Outcome, locked bool, at time.Time) error {
	user := out.Target.User
	tags, err := r.userTags(ctx, user)
	if errorCode(err) == "NoSuchEntity" {
		out.step("ListUserTags", user+" (NoSuchEntity)", nil)
		out.Result, out.Reason = "skipped", join(out.Reason, "no such IAM user")
		return nil
	}
	if err != nil {
		return out.step("ListUserTags", user, err)
	}
	st := readUserState(tags)
	if st.foreign != "" && !locked {
		return fmt.Errorf("the tag %s holds %q, which lockgate did not write: the user is not lockgate's to restore, so nothing was changed and any deny-all stays in place (an administrator's containment?)", tagLocked, st.foreign)
	}
	if !st.locked && len(st.tagged) == 0 || st.foreign != "" {
		// No record in the tags: is a deny-all in place, and did lockgate
		// record a lock elsewhere?
		if st.denyPresent, err = r.denyPresent(ctx, out, user); err != nil {
			return err
		}
		if st.denyPresent && st.foreign == "" && r.Ledger != nil {
			rec, ok, err := r.Ledger.UserRecord(ctx, user)
			if err := out.step("ReadLockRecord", "the lock service's record of "+user, err); err != nil {
				return err
			}
			if ok && rec.Locked {
				st = userState{locked: true, at: rec.At, keys: rec.Keys, denyKept: rec.DenyKept, loginDeleted: rec.LoginDeleted, inLedger: true, denyPresent: true}
			}
		}
	}
	if st.locked && at.Before(st.at) {
		out.Result = "stale"
		out.Reason = join(out.Reason, "a newer decision (locked at "+st.at.Format(timeFormat)+") is in force")
		return nil
	}
	revoke, hasRevoke, err := r.inlinePolicy(ctx, out, user, RevokePolicyName)
	if err != nil {
		return err
	}
	if locked {
		// The revoke policy's date is the last unlock's: a lock decided
		// before it arrives late.
		if d := revokedBefore(revoke); !st.locked && hasRevoke && at.Before(d) {
			out.Result = "stale"
			out.Reason = join(out.Reason, "a newer decision (unlocked at "+d.Format(timeFormat)+") is in force")
			return nil
		}
		return r.lockUser(ctx, out, st, hasRevoke, at)
	}
	return r.unlockUser(ctx, out, st, hasRevoke, at)
}

// denyPresent reports whether a deny-all — the managed one lockgate
// attaches, or the inline DenyAllAccess — is on the user.
func (r *Responder) denyPresent(ctx context.Context, out *Outcome, user string) (bool, error) {
	if r.DenyPolicyARN != "" {
		attached, err := r.denyAttached(ctx, user)
		if err != nil {
			return false, out.step("ListAttachedUserPolicies", user, err)
		}
		if attached {
			return true, nil
		}
	}
	_, has, err := r.inlinePolicy(ctx, out, user, DenyAllPolicyName)
	return has, err
}

func (r *Responder) lockUser(ctx context.Context, out *Outcome, st userState, hasRevoke bool, at time.Time) error {
	user := out.Target.User
	var errs []error
	want := st
	if st.locked {
		// Already locked: put back only what is missing, dated as before.
		out.Reason = join(out.Reason, "already locked at "+st.at.Format(timeFormat))
	} else {
		want = userState{locked: true, at: at, denyKept: st.denyPresent, loginDeleted: r.DeleteLoginProfile, tagged: st.tagged}
	}
	keys, listErr := r.accessKeys(ctx, user)
	listErr = out.step("ListAccessKeys", user, listErr)
	var active, live []string
	for _, k := range keys {
		id := aws.ToString(k.AccessKeyId)
		live = append(live, id)
		if k.Status == types.StatusTypeActive {
			active = append(active, id)
		}
	}
	// Keys deleted since are forgotten.
	want.keys = nil
	for _, id := range st.keys {
		if listErr != nil || slices.Contains(live, id) {
			want.keys = append(want.keys, id)
		}
	}
	want.keys = union(want.keys, active)
	// The record comes first: an unlock must find what lockgate is about
	// to change — which keys, and whether the deny-all is lockgate's —
	// before any of it is changed.
	recorded := true
	if !st.locked || !slices.Equal(want.keys, st.keys) || slices.Contains(st.tagged, legacyState) {
		if err := r.writeRecord(ctx, out, st, want); err != nil {
			errs, recorded = append(errs, err), false
		}
	}
	// Deny everything even without a record (fail closed): it stops keys
	// and sessions alike at once.
	if err := r.ensureDeny(ctx, out, user); err != nil {
		errs = append(errs, err)
	}
	// Dated at the lock, not when the process started: sessions issued
	// between a warm start and the lock must not survive.
	if !st.locked || !hasRevoke {
		_, err := r.IAM.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: &user, PolicyName: aws.String(RevokePolicyName), PolicyDocument: aws.String(RevokeDocument(want.at))})
		if e := out.write("PutUserPolicy", RevokePolicyName+" before "+ceilMilli(want.at).Format(timeFormat), err); e != nil {
			if errorCode(err) == "LimitExceeded" {
				out.Reason = join(out.Reason, "the user's inline policies fill IAM's 2,048 characters: sessions are not revoked by date (the deny-all covers them while locked)")
			}
			errs = append(errs, e)
		}
	}
	if listErr != nil {
		return errors.Join(append(errs, listErr)...)
	}
	if recorded {
		for _, id := range active {
			_, err := r.IAM.UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{UserName: &user, AccessKeyId: aws.String(id), Status: types.StatusTypeInactive})
			if e := out.write("UpdateAccessKey", id+" Inactive", err); e != nil {
				errs = append(errs, e)
			}
		}
	} else if len(active) > 0 {
		out.Reason = join(out.Reason, "without a record an unlock could not tell lockgate's keys from an administrator's: they stay active, but the deny-all stands")
	}
	if r.DeleteLoginProfile {
		_, err := r.IAM.DeleteLoginProfile(ctx, &iam.DeleteLoginProfileInput{UserName: &user})
		if e := out.write("DeleteLoginProfile", user, err, "NoSuchEntity"); e != nil {
			errs = append(errs, e)
		}
	}
	out.Result = "locked"
	return errors.Join(errs...)
}

// writeRecord records the lock in the user's tags, or, when IAM refuses
// them (the user's 50 tags are full), in the lock service's ledger.
func (r *Responder) writeRecord(ctx context.Context, out *Outcome, st, want userState) error {
	if !st.inLedger {
		err := r.writeUserTags(ctx, out, st, want)
		if errorCode(err) != "LimitExceeded" {
			return err
		}
		if r.Ledger == nil {
			out.Reason = join(out.Reason, fmt.Sprintf("the user has too many tags: lockgate needs %d of IAM's 50 to record the lock and has no other place for it; the deny-all is applied, and an unlock will leave it to an administrator", 1+len(want.keys)))
			return err
		}
		out.Reason = join(out.Reason, "the user's tags are at IAM's quota of 50: the lock is recorded at the lock service")
	}
	err := r.Ledger.RecordUser(ctx, UserRecord{User: out.Target.User, Locked: true, At: want.at, Keys: want.keys, DenyKept: want.denyKept, LoginDeleted: want.loginDeleted})
	if err := out.write("RecordLock", "at the lock service: keys "+strings.Join(want.keys, " "), err); err != nil {
		out.Reason = join(out.Reason, "the lock could not be recorded anywhere; the deny-all is applied, and an unlock will leave it to an administrator")
		return err
	}
	return nil
}

// writeUserTags records the lock: its time and markers, and the keys,
// one tag each; tags of fewer keys or of earlier versions are removed
// after.
func (r *Responder) writeUserTags(ctx context.Context, out *Outcome, st, want userState) error {
	user := out.Target.User
	tags := []types.Tag{{Key: aws.String(tagLocked), Value: aws.String(lockedValue(want))}}
	keep := []string{tagLocked}
	for i, id := range want.keys {
		k := tagKeyPrefix + strconv.Itoa(i+1)
		keep = append(keep, k)
		tags = append(tags, types.Tag{Key: aws.String(k), Value: aws.String(id)})
	}
	_, err := r.IAM.TagUser(ctx, &iam.TagUserInput{UserName: &user, Tags: tags})
	if err := out.write("TagUser", fmt.Sprintf("record the lock and the keys to deactivate: %s", strings.Join(want.keys, " ")), err); err != nil {
		return err
	}
	var stale []string
	for _, k := range st.tagged {
		if !slices.Contains(keep, k) {
			stale = append(stale, k)
		}
	}
	if len(stale) > 0 {
		_, err := r.IAM.UntagUser(ctx, &iam.UntagUserInput{UserName: &user, TagKeys: stale})
		return out.write("UntagUser", strings.Join(stale, " "), err)
	}
	return nil
}

func (r *Responder) unlockUser(ctx context.Context, out *Outcome, st userState, hasRevoke bool, at time.Time) error {
	user := out.Target.User
	if !st.locked && len(st.tagged) == 0 {
		switch {
		case !st.denyPresent:
			out.Result = "unlocked"
			out.Reason = join(out.Reason, "not locked by lockgate; nothing to restore")
			return nil
		case r.FallbackReactivate:
			return r.fallbackRestore(ctx, out, at)
		}
		return errors.New("a deny-all is on the user but lockgate holds no record of a lock: it is left in place — another tool's or an administrator's, or a lockgate lock that could not be recorded; an administrator must decide")
	}
	// Sessions begun before the unlock, while locked included, stay
	// ended. Without this nothing else is restored — unless IAM's inline
	// quota refuses it: the lock could not write it either, and an unlock
	// must never need more room than its lock had.
	_, err := r.IAM.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: &user, PolicyName: aws.String(RevokePolicyName), PolicyDocument: aws.String(RevokeDocument(at))})
	if err := out.write("PutUserPolicy", RevokePolicyName+" before "+ceilMilli(at).Format(timeFormat), err); err != nil {
		if errorCode(err) != "LimitExceeded" {
			return err
		}
		was := "the lock could not write it either"
		if hasRevoke {
			was = "the one in place keeps the lock's date"
		}
		out.Reason = join(out.Reason, "the user's inline policies fill IAM's 2,048 characters, so "+RevokePolicyName+" was not dated at the unlock ("+was+"): sessions begun while locked are not revoked")
	}
	var errs []error
	if st.denyKept {
		out.Reason = join(out.Reason, "the deny-all was in place before lockgate's lock: left in place")
	} else {
		errs = append(errs, r.removeDeny(ctx, out, user)...)
	}
	keys, err := r.accessKeys(ctx, user)
	if e := out.step("ListAccessKeys", user, err); e != nil {
		return errors.Join(append(errs, e)...)
	}
	for _, id := range st.keys {
		for _, k := range keys {
			if aws.ToString(k.AccessKeyId) == id && k.Status == types.StatusTypeInactive {
				_, err := r.IAM.UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{UserName: &user, AccessKeyId: aws.String(id), Status: types.StatusTypeActive})
				if e := out.write("UpdateAccessKey", id+" Active", err); e != nil {
					errs = append(errs, e)
				}
			}
		}
	}
	if st.loginDeleted {
		out.Reason = join(out.Reason, "the console password was deleted at the lock (delete_login_profile) and cannot be restored: an administrator must set a new one (aws iam create-login-profile)")
	}
	// The record goes last: while anything failed, a retry knows what to
	// restore.
	if len(errs) == 0 && st.inLedger {
		err := r.Ledger.RecordUser(ctx, UserRecord{User: user, At: at})
		if e := out.write("RecordLock", "at the lock service: unlocked", err); e != nil {
			errs = append(errs, e)
		}
	} else if len(errs) == 0 && len(st.tagged) > 0 {
		_, err := r.IAM.UntagUser(ctx, &iam.UntagUserInput{UserName: &user, TagKeys: st.tagged})
		if e := out.write("UntagUser", strings.Join(st.tagged, " "), err); e != nil {
			errs = append(errs, e)
		}
	}
	out.Result = "unlocked"
	return errors.Join(errs...)
}
