package awsiam

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/lockgate/lockgate/internal/awsiam/iamtest"
)

// snapshot is everything IAM keeps about a user.
func snapshot(g *rig, user string) string {
	var b strings.Builder
	g.iam.Do(func(users map[string]*iamtest.User, _ map[string]*iamtest.Role) {
		u := users[user]
		for _, k := range u.Keys {
			fmt.Fprintf(&b, "key %s %s\n", k.ID, k.Status)
		}
		att := slices.Clone(u.Attached)
		sort.Strings(att)
		fmt.Fprintf(&b, "attached %v\n", att)
		var names []string
		for n := range u.Inline {
			if n != RevokePolicyName {
				names = append(names, n)
			}
		}
		sort.Strings(names)
		fmt.Fprintf(&b, "inline %v\n", names)
		fmt.Fprintf(&b, "tags %v\nlogin profile %v\n", u.Tags, u.LoginProfile)
	})
	return b.String()
}

// Through the real SDK client against the model-driven IAM double: a user
// with 10 managed policies (the quota full, so the deny-all goes inline)
// and its access keys — two active, or (IAM allows two keys a user) one
// active and one an administrator disabled — is locked and unlocked, and
// ends exactly as it started, but for AwsRevokeOlderSessions, which by
// design outlives the lock: it ends every session begun before the
// unlock. Every request passed IAM's model, or the double would have
// refused it.
func TestLockUnlockEndsInTheStartingState(t *testing.T) {
	for _, tt := range []struct {
		name     string
		disabled bool
	}{
		{"two active keys", false},
		{"an active key and one an administrator disabled", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			g := newRig(t)
			u := g.iam.AddUser("anaya", 2)
			for i := range 10 {
				arn := g.iam.AddManagedPolicy(fmt.Sprintf("Team%02d", i), `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`)
				if err := g.iam.AttachUserPolicy("anaya", arn); err != nil {
					t.Fatal(err)
				}
			}
			g.iam.Do(func(map[string]*iamtest.User, map[string]*iamtest.Role) {
				u.Tags["team"] = "payments"
				if tt.disabled {
					u.Keys[1].Status = "Inactive"
				}
			})
			start := snapshot(g, "anaya")

			g.checker.set("anaya", true)
			if out := g.handle(g.event("anaya")); out.Result != "locked" {
				t.Fatalf("lock: %+v", out)
			}
			for _, k := range u.Keys {
				if g.allowedWithKey("anaya", k.ID) {
					t.Fatalf("key %s works while locked", k.ID)
				}
			}
			if g.allowedWithSession("anaya", g.clock.Add(time.Minute)) {
				t.Fatal("a session works while locked")
			}
			if snapshot(g, "anaya") == start {
				t.Fatal("the lock changed nothing")
			}

			g.clock = g.clock.Add(time.Hour)
			g.checker.set("anaya", false)
			if out := g.handle(g.event("anaya")); out.Result != "unlocked" {
				t.Fatalf("unlock: %+v", out)
			}
			if end := snapshot(g, "anaya"); end != start {
				t.Fatalf("after unlock\n%s\nwant\n%s", end, start)
			}
			if !g.allowedWithKey("anaya", u.Keys[0].ID) || g.allowedWithKey("anaya", u.Keys[1].ID) == tt.disabled {
				t.Fatal("the keys do not work as before")
			}
		})
	}
}

// A thousand people sign in through one role; every hundredth is
// locked. Nothing accumulates on the role: no tags, and only the locked
// people in its one inline policy; an unlocked sign-in writes nothing.
// The last person locked, after the thousand, is locked as the first was.
func TestRoleWithAThousandPeople(t *testing.T) {
	g := newRig(t)
	g.iam.PageSize = 100
	role := g.iam.AddRole("shared")
	if err := g.iam.AttachRolePolicy("shared", g.adminP); err != nil {
		t.Fatal(err)
	}
	g.iam.Do(func(_ map[string]*iamtest.User, roles map[string]*iamtest.Role) {
		roles["shared"].Tags["owner"] = "platform"
		roles["shared"].Tags["cost-center"] = "41200"
	})
	locked := 0
	for i := range 1000 {
		name := fmt.Sprintf("person%04d@example.com", i)
		if i%100 == 99 {
			g.checker.set(name, true)
			locked++
		}
		mark := len(g.iam.Calls())
		out := g.handle(roleEvent(t, role, name))
		want := "unlocked"
		if i%100 == 99 {
			want = "locked"
		}
		if out.Result != want {
			t.Fatalf("person %d: %+v", i, out)
		}
		if w := g.writes(mark); want == "unlocked" && len(w) != 0 {
			t.Fatalf("an unlocked sign-in wrote %v", w)
		}
	}
	g.iam.Do(func(_ map[string]*iamtest.User, roles map[string]*iamtest.Role) {
		if len(roles["shared"].Tags) != 2 {
			t.Errorf("role tags %v", roles["shared"].Tags)
		}
	})
	pol, err := parseSessions(rolePolicy(g, "shared"))
	if err != nil || len(pol.entries) != locked {
		t.Fatalf("%d entries for %d locked people: %v", len(pol.entries), locked, err)
	}
	for _, i := range []int{0, 99, 500, 999} {
		name := fmt.Sprintf("person%04d@example.com", i)
		if g.sessionAllowed("shared", name, g.clock) != (i%100 != 99) {
			t.Errorf("%s: allowed %v", name, !(i%100 != 99))
		}
	}
	// Lock the first person after the thousand.
	g.checker.set("person0000@example.com", true)
	g.clock = g.clock.Add(time.Minute)
	if out := g.handle(roleEvent(t, role, "person0000@example.com")); out.Result != "locked" || g.sessionAllowed("shared", "person0000@example.com", g.clock) {
		t.Fatalf("%+v", out)
	}
	if ts, _ := g.book.Sessions(context.Background(), "person0500@example.com"); len(ts) != 1 {
		t.Fatalf("sessions recorded for person 500: %v", ts)
	}
}

// An IAM endpoint that accepts the connection and never answers: the
// per-call timeout ends each call, the event's deadline ends the event,
// and the outcome is failed with the reason; nothing is restored.
func TestHungIAMEndpoint(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { <-stop; c.Close() }() // hold it open, say nothing
		}
	}()
	defer ln.Close()
	for _, tt := range []struct {
		name        string
		callTimeout time.Duration
		deadline    time.Duration // the responder's
		lambda      time.Duration // the caller's context, as Lambda's timeout
		bound       time.Duration
		reason      string
	}{
		{"per-call timeout", 200 * time.Millisecond, time.Second, 0, 200 * time.Millisecond, "IAM did not answer within the call timeout of 200ms"},
		{"event deadline", 5 * time.Second, time.Second, 0, time.Second, "the event's deadline (event_deadline 1s) passed"},
		{"below the Lambda timeout", 5 * time.Second, 25 * time.Second, reserve + time.Second, time.Second, "the event's deadline, 4s before the caller's (the Lambda function's timeout), passed"},
	} {
		client := NewIAMClient(aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", "")},
			tt.callTimeout, func(o *iam.Options) { o.BaseEndpoint = aws.String("http://" + ln.Addr().String()) })
		for _, locked := range []bool{true, false} {
			checker := &fakeChecker{locked: map[string]bool{"anaya": locked}}
			r := &Responder{IAM: client, Checker: checker, Config: Config{Deadline: tt.deadline}, Log: slog.New(slog.DiscardHandler)}
			ctx := context.Background()
			if tt.lambda > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.lambda)
				defer cancel()
			}
			g := &rig{t: t}
			start := time.Now()
			out, err := r.HandleEvent(ctx, g.event("anaya"))
			took := time.Since(start)
			if err == nil || out.Result != "failed" || !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("%s: %+v %v", tt.name, out, err)
			}
			if !strings.Contains(out.Reason, tt.reason) {
				t.Fatalf("%s: the outcome does not say %q: %s / %v", tt.name, tt.reason, out.Reason, err)
			}
			// Bound generously above the deadline: this catches a hang
			// (minutes before), not a slow machine.
			if took > tt.bound+3*time.Second {
				t.Fatalf("%s: took %s, deadline %s", tt.name, took, tt.bound)
			}
			for _, a := range out.Actions {
				if a.Error == "" && strings.HasPrefix(a.Op, "Update") {
					t.Fatalf("%s: %s succeeded against a hung IAM", tt.name, a.Op)
				}
			}
		}
	}
}
