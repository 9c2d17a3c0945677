package analyze

import (
	"bufio"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// GenOptions describe synthetic logs.
type GenOptions struct {
	Seed uint64
	// Size is how many bytes of records to write (before gzip), to
	// within a record a slot; below about 20 MB the attacks are scaled
	// down with it.
	Size int64
	// Gzip writes .log.gz objects, as AWS WAF delivers them to S3.
	Gzip bool
	// Start is when the six hours of traffic begin (the blog's
	// 2020-12-01 16:00 window, moved to 2026-11-02, when zero).
	Start   time.Time
	Workers int
}

// GenResult says what was written, and who is who in it.
type GenResult struct {
	Files   int
	Records int64
	Bytes   int64 // uncompressed
	Start   time.Time
	End     time.Time
	// Healthy is the busy, healthy period before the attacks: the one
	// to take limits from.
	Healthy [2]time.Time
	// The clients: a crawler, a credential-stuffing IP on /login (in
	// Stuffing), a flood from many IPs (in Flood), and a partner's
	// proxies that forward their users' addresses in X-Forwarded-For.
	CrawlerIP  string
	StuffingIP string
	Stuffing   [2]time.Time
	FloodIPs   []string
	Flood      [2]time.Time
	ProxyIPs   []string
	// ReputationIPs were blocked by the IP reputation group when logged.
	ReputationIPs []string
}

// The scenario's shape: six hours in 5-minute slots (AWS WAF writes an S3
// object every 5 minutes); healthy for four hours, then the attacks.
const (
	genSlots          = 72
	genSlot           = 5 * time.Minute
	genHealthySlots   = 48
	stuffFrom         = 54 // 20:30
	stuffTo           = 60
	floodFrom         = 63 // 21:15
	floodTo           = 66
	stuffPerSlot      = 300 // one request a second
	avgRecordBytes    = 1330
	maxFixedShare     = 0.4  // of the records, for the attacks and known bad IPs
	userActive        = 0.04 // chance a user is active in a slot
	reputationPerSlot = 12   // requests from known bad IPs, blocked
	account           = "111122223333"
	aclName           = "shop-acl"
)

var (
	genPaths = []struct {
		path, method string
		weight       int
	}{
		{"/", "GET", 15}, {"/products", "GET", 15}, {"/products/", "GET", 35}, {"/search", "GET", 10},
		{"/cart", "GET", 8}, {"/login", "POST", 4}, {"/checkout", "POST", 3}, {"/static/app.js", "GET", 5}, {"/static/app.css", "GET", 5},
	}
	genCountries = []struct {
		code   string
		weight int
	}{{"US", 60}, {"GB", 10}, {"DE", 8}, {"CA", 7}, {"FR", 5}, {"JP", 4}, {"BR", 3}, {"IN", 3}}
	floodCountries = []string{"CN", "RU", "BR", "VN", "ID", "IN", "US", "TR"}
	userAgents     = []string{
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.0.0 Safari/537.36",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 15_1) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
		"Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
		"Mozilla/5.0 (Linux; Android 15; Pixel 9) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.0.0 Mobile Safari/537.36",
	}
)

type genUser struct {
	ip      string
	country string
	ua      string
	proxy   string // the partner proxy it comes through, or ""
}

type genPlan struct {
	o          GenOptions
	res        *GenResult
	users      []genUser
	crawlSlot  int // crawler requests per slot
	stuffSlot  int // credential-stuffing requests per slot
	floodSlot  int // requests per flood IP per slot
	reputation []string
	// scale is below 1 when the size asked for is too small for the
	// scenario's attacks at full scale: they shrink with it.
	scale float64
	// userBytes is what the users' requests fill: the size asked for
	// less the fixed traffic.
	userBytes int64
}

// Generate writes synthetic AWS WAF logs under dir, in the S3 layout AWS
// WAF uses (AWSLogs/ACCOUNT/WAFLogs/REGION/WEBACL/yyyy/MM/dd/HH/mm/), one
// object per 5 minutes. The same seed and size write the same records.
func Generate(ctx context.Context, dir string, o GenOptions) (*GenResult, error) {
	if o.Size <= 0 {
		return nil, fmt.Errorf("size %d: must be positive", o.Size)
	}
	if o.Start.IsZero() {
		o.Start = time.Date(2026, 11, 2, 16, 0, 0, 0, time.UTC)
	}
	o.Start = o.Start.UTC().Truncate(genSlot)
	p := plan(o)
	workers := o.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	p.userBytes = max(o.Size-p.fixedBytes(ctx, workers), 0)
	var (
		records, written atomic.Int64
		next             atomic.Int64
		errs             = make([]error, genSlots)
		wg               sync.WaitGroup
	)
	for range workers {
		wg.Go(func() {
			for slot := int(next.Add(1) - 1); slot < genSlots && ctx.Err() == nil; slot = int(next.Add(1) - 1) {
				n, b, err := p.writeSlot(dir, slot)
				records.Add(n)
				written.Add(b)
				errs[slot] = err
			}
		})
	}
	wg.Wait()
	if err := errors.Join(append(errs, ctx.Err())...); err != nil {
		return nil, err
	}
	p.res.Files, p.res.Records, p.res.Bytes = genSlots, records.Load(), written.Load()
	return p.res, nil
}

func plan(o GenOptions) *genPlan {
	n := max(o.Size/avgRecordBytes, 1)
	rng := rand.New(rand.NewPCG(o.Seed, 0x9e3779b97f4a7c15))
	slot := func(i int) time.Time { return o.Start.Add(time.Duration(i) * genSlot) }
	p := &genPlan{o: o}
	p.res = &GenResult{Start: o.Start, End: slot(genSlots), Healthy: [2]time.Time{o.Start, slot(genHealthySlots)},
		CrawlerIP: "203.0.113.50", StuffingIP: "198.51.100.23", Stuffing: [2]time.Time{slot(stuffFrom), slot(stuffTo)},
		Flood: [2]time.Time{slot(floodFrom), slot(floodTo)}, ProxyIPs: []string{"192.0.2.10", "192.0.2.11", "192.0.2.12", "192.0.2.13"}}
	// The attackers' traffic is fixed by the scenario (the flood's
	// clients at three times the crawler's rate); the crawler is 6% of the
	// total, evenly; the users are the rest. Below about 20 MB the
	// attacks at full scale would take more than maxFixedShare of the
	// size: they are scaled down with it, so that the size stays the
	// one asked for (and the attacks stand out less).
	p.crawlSlot = int(max(n*6/100/genSlots, 1))
	p.floodSlot = 3 * max(p.crawlSlot, 60)
	floodIPs := max(int(n*16/100/int64((floodTo-floodFrom)*p.floodSlot)), 5)
	p.stuffSlot, p.scale = stuffPerSlot, 1.0
	fixed := int64(stuffPerSlot*(stuffTo-stuffFrom)+floodIPs*p.floodSlot*(floodTo-floodFrom)+p.crawlSlot*genSlots) + reputationPerSlot*genSlots
	if limit := int64(maxFixedShare * float64(n)); fixed > limit {
		p.scale = float64(limit) / float64(fixed)
		p.stuffSlot = max(int(float64(stuffPerSlot)*p.scale), 1)
		p.floodSlot = max(int(float64(p.floodSlot)*p.scale), 1)
		fixed = limit
	}
	const meanUserSlot = 11 // 2 + 4.5 + 4.5·1: see writeSlot
	users := max(int(float64(n-fixed)/(genSlots*userActive*meanUserSlot)), 20)
	seen := map[string]bool{}
	for range users {
		var ip string
		for ip == "" || seen[ip] {
			ip = netip.AddrFrom4([4]byte{100, byte(64 + rng.IntN(64)), byte(rng.IntN(256)), byte(1 + rng.IntN(254))}).String()
		}
		seen[ip] = true
		u := genUser{ip: ip, country: pickCountry(rng), ua: userAgents[rng.IntN(len(userAgents))]}
		if rng.IntN(100) < 8 {
			u.proxy = p.res.ProxyIPs[rng.IntN(len(p.res.ProxyIPs))]
		}
		p.users = append(p.users, u)
	}
	for i := range floodIPs {
		p.res.FloodIPs = append(p.res.FloodIPs, netip.AddrFrom4([4]byte{198, byte(18 + i/65536), byte(i / 256 % 256), byte(i % 256)}).String())
	}
	for i := range 5 {
		p.reputation = append(p.reputation, "192.0.2."+strconv.Itoa(200+i))
	}
	p.res.ReputationIPs = p.reputation
	return p
}

func pickCountry(rng *rand.Rand) string {
	n := rng.IntN(100)
	for _, c := range genCountries {
		if n < c.weight {
			return c.code
		}
		n -= c.weight
	}
	return "US"
}

// genEvent is one request of the scenario before it is written.
type genEvent struct {
	ts       int64
	ip       string
	country  string
	ua       string
	xff      string
	method   string
	uri      string
	args     string
	blocked  bool // by the IP reputation group
	crawler  bool
	bodySize int64
}

// fixedEvents makes a slot's traffic that the scenario fixes (the
// crawler, the credential stuffing, the flood and the known bad IPs),
// calling emit for each with the slot's own random source, so that the
// same slot always makes the same events.
func (p *genPlan) fixedEvents(slot int, emit func(*genEvent, *rand.Rand)) {
	rng := rand.New(rand.NewPCG(p.o.Seed, uint64(slot)+1))
	t0 := p.o.Start.Add(time.Duration(slot) * genSlot).UnixMilli()
	at := func() int64 { return t0 + rng.Int64N(genSlot.Milliseconds()) }
	for range p.crawlSlot {
		ev := genEvent{ts: at(), ip: p.res.CrawlerIP, country: "US", ua: "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", method: "GET", crawler: true}
		ev.uri = "/products/" + strconv.Itoa(1+rng.IntN(50_000))
		if rng.IntN(10) == 0 {
			ev.uri = "/products"
		}
		emit(&ev, rng)
	}
	if slot >= stuffFrom && slot < stuffTo {
		for range p.stuffSlot {
			emit(&genEvent{ts: at(), ip: p.res.StuffingIP, country: "RU", ua: "python-requests/2.32.3", method: "POST", uri: "/login", bodySize: 48}, rng)
		}
	}
	if slot >= floodFrom && slot < floodTo {
		for i, ip := range p.res.FloodIPs {
			for range p.floodSlot {
				ev := genEvent{ts: at(), ip: ip, country: floodCountries[i%len(floodCountries)], ua: userAgents[i%len(userAgents)], method: "GET", uri: "/"}
				if rng.IntN(3) == 0 {
					ev.uri, ev.args = "/search", "q="+strconv.Itoa(rng.IntN(1_000_000))
				}
				emit(&ev, rng)
			}
		}
	}
	for _, ip := range p.reputation {
		// At full scale each bad IP sends one to four requests a slot;
		// scaled down, a slot has them with the scale's chance.
		if rng.Float64() >= p.scale {
			continue
		}
		for range 1 + rng.IntN(2*reputationPerSlot/len(p.reputation)) {
			emit(&genEvent{ts: at(), ip: ip, country: "NL", ua: userAgents[0], method: "GET", uri: "/", blocked: true}, rng)
		}
	}
}

// fixedBytes is how many bytes the fixed traffic of every slot takes:
// the users fill the rest of the size asked for.
func (p *genPlan) fixedBytes(ctx context.Context, workers int) int64 {
	var total, next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			var line []byte
			for slot := int(next.Add(1) - 1); slot < genSlots && ctx.Err() == nil; slot = int(next.Add(1) - 1) {
				var n int64
				p.fixedEvents(slot, func(ev *genEvent, rng *rand.Rand) {
					line = appendRecord(line[:0], ev, rng)
					n += int64(len(line))
				})
				total.Add(n)
			}
		})
	}
	wg.Wait()
	return total.Load()
}

// genLine is a rendered record, placed by time before it is written.
type genLine struct {
	ts       int64
	off, end int
}

func (p *genPlan) writeSlot(dir string, slot int) (int64, int64, error) {
	var (
		buf   []byte
		lines []genLine
	)
	add := func(ev *genEvent, rng *rand.Rand) {
		off := len(buf)
		buf = appendRecord(buf, ev, rng)
		lines = append(lines, genLine{ev.ts, off, len(buf)})
	}
	p.fixedEvents(slot, add)
	// The users' visits, from their own random source, fill the slot's
	// share of the size: a few to some forty requests each within the
	// slot, until the share is reached. The record that would cross it
	// is kept with the chance that makes the expected size the share
	// (records are of similar lengths: always rounding one way would err
	// alike in every slot).
	rng := rand.New(rand.NewPCG(p.o.Seed^0x5bd1e995, uint64(slot)+1))
	t0 := p.o.Start.Add(time.Duration(slot) * genSlot).UnixMilli()
	width := genSlot.Milliseconds()
	budget := p.userBytes*int64(slot+1)/genSlots - p.userBytes*int64(slot)/genSlots
	var used int64
	var line []byte
	for used < budget {
		first := rng.IntN(len(p.users)) // no user is favoured when the budget runs out
		for j := range p.users {
			u := &p.users[(first+j)%len(p.users)]
			if rng.Float64() >= userActive {
				continue
			}
			k := 2 + rng.IntN(10) + rng.IntN(10)*rng.IntN(3)
			start := t0 + rng.Int64N(width)
			for range k {
				ev := genEvent{ts: min(start+rng.Int64N(120_000), t0+width-1), ip: u.ip, country: u.country, ua: u.ua}
				if u.proxy != "" {
					ev.ip, ev.xff = u.proxy, u.ip
				}
				ev.method, ev.uri, ev.args = pickPath(rng)
				line = appendRecord(line[:0], &ev, rng)
				if n := int64(len(line)); used+n > budget && rng.Int64N(n) >= budget-used {
					used = budget
					break
				}
				off := len(buf)
				buf = append(buf, line...)
				lines = append(lines, genLine{ev.ts, off, len(buf)})
				used += int64(len(line))
			}
			if used >= budget {
				break
			}
		}
	}
	slices.SortStableFunc(lines, func(a, b genLine) int { return int(a.ts - b.ts) })

	ts := time.UnixMilli(t0).UTC()
	sub := filepath.Join(dir, "AWSLogs", account, "WAFLogs", "us-east-1", aclName, ts.Format("2006/01/02/15/04"))
	if err := os.MkdirAll(sub, 0o755); err != nil {
		return 0, 0, err
	}
	name := fmt.Sprintf("%s_waflogs_us-east-1_%s_%s_%08x.log", account, aclName, ts.Format("20060102T1504Z"), rng.Uint32())
	if p.o.Gzip {
		name += ".gz"
	}
	f, err := os.Create(filepath.Join(sub, name))
	if err != nil {
		return 0, 0, err
	}
	var w io.Writer = f
	var zw *gzip.Writer
	if p.o.Gzip {
		zw = gzip.NewWriter(f)
		w = zw
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	for _, l := range lines {
		bw.Write(buf[l.off:l.end])
	}
	err = bw.Flush()
	if zw != nil && err == nil {
		err = zw.Close()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return int64(len(lines)), int64(len(buf)), err
}

func pickPath(rng *rand.Rand) (method, uri, args string) {
	n := rng.IntN(100)
	for _, p := range genPaths {
		if n >= p.weight {
			n -= p.weight
			continue
		}
		switch p.path {
		case "/products/":
			return p.method, p.path + strconv.Itoa(1+rng.IntN(5_000)), ""
		case "/search":
			return p.method, p.path, "q=" + []string{"shoes", "shirt", "lamp", "desk", "mug", "socks"}[rng.IntN(6)]
		}
		return p.method, p.path, ""
	}
	return "GET", "/", ""
}

const webACLARN = "arn:aws:wafv2:us-east-1:" + account + ":regional/webacl/" + aclName + "/7f2d8a8c-1b2e-4c55-9b1a-2f3e4d5c6b7a"

// appendRecord writes an AWS WAF log record as AWS does: the members in
// AWS's order, one line.
func appendRecord(b []byte, ev *genEvent, rng *rand.Rand) []byte {
	b = append(b, `{"timestamp":`...)
	b = strconv.AppendInt(b, ev.ts, 10)
	b = append(b, `,"formatVersion":1,"webaclId":"`+webACLARN+`",`...)
	if ev.blocked {
		b = append(b, `"terminatingRuleId":"AWS-AWSManagedRulesAmazonIpReputationList","terminatingRuleType":"MANAGED_RULE_GROUP","action":"BLOCK",`...)
	} else {
		b = append(b, `"terminatingRuleId":"Default_Action","terminatingRuleType":"REGULAR","action":"ALLOW",`...)
	}
	b = append(b, `"terminatingRuleMatchDetails":[],"httpSourceName":"ALB","httpSourceId":"`+account+`-app/shop-alb/4c3b2a1d0e9f8a7b","ruleGroupList":[{"ruleGroupId":"AWS#AWSManagedRulesAmazonIpReputationList","terminatingRule":`...)
	if ev.blocked {
		b = append(b, `{"ruleId":"AWSManagedIPReputationList","action":"BLOCK","ruleMatchDetails":null}`...)
	} else {
		b = append(b, `null`...)
	}
	b = append(b, `,"nonTerminatingMatchingRules":[],"excludedRules":null}],"rateBasedRuleList":[],"nonTerminatingMatchingRules":[],"requestHeadersInserted":null,"responseCodeSent":null,"httpRequest":{"clientIp":"`...)
	b = append(b, ev.ip...)
	b = append(b, `","country":"`...)
	b = append(b, ev.country...)
	b = append(b, `","headers":[{"name":"Host","value":"shop.example.com"},{"name":"User-Agent","value":`...)
	b = strconv.AppendQuote(b, ev.ua)
	b = append(b, `},{"name":"Accept","value":"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"},{"name":"Accept-Language","value":"en-US,en;q=0.9"},{"name":"Accept-Encoding","value":"gzip, deflate, br"}`...)
	if !ev.crawler && ev.method != "POST" && rng.IntN(2) == 0 {
		b = append(b, `,{"name":"Cookie","value":"session=`...)
		b = appendHex(b, rng.Uint64())
		b = append(b, `"}`...)
	}
	if ev.method == "POST" {
		b = append(b, `,{"name":"Content-Type","value":"application/x-www-form-urlencoded"}`...)
	}
	if ev.xff != "" {
		b = append(b, `,{"name":"X-Forwarded-For","value":"`...)
		b = append(b, ev.xff...)
		b = append(b, `"}`...)
	}
	b = append(b, `],"uri":`...)
	b = strconv.AppendQuote(b, ev.uri)
	b = append(b, `,"args":`...)
	b = strconv.AppendQuote(b, ev.args)
	b = append(b, `,"httpVersion":"HTTP/1.1","httpMethod":"`...)
	b = append(b, ev.method...)
	b = append(b, `","requestId":"1-`...)
	b = strconv.AppendInt(b, ev.ts/1000, 16)
	b = append(b, '-')
	b = appendHex(b, rng.Uint64())
	b = appendHex(b, uint64(rng.Uint32()))
	b = append(b, `","scheme":"https","host":"shop.example.com"}`...)
	if ev.blocked {
		b = append(b, `,"labels":[{"name":"awswaf:managed:aws:amazon-ip-list:AWSManagedIPReputationList"}]`...)
	}
	b = append(b, `,"requestBodySize":`...)
	b = strconv.AppendInt(b, ev.bodySize, 10)
	b = append(b, `,"requestBodySizeInspectedByWAF":`...)
	b = strconv.AppendInt(b, ev.bodySize, 10)
	return append(b, "}\n"...)
}

func appendHex(b []byte, v uint64) []byte {
	const digits = "0123456789abcdef"
	for i := 60; i >= 0; i -= 4 {
		b = append(b, digits[v>>uint(i)&0xf])
	}
	return b
}
