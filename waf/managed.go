package waf

import (
	"sort"
	"strings"

	"github.com/lockgate/lockgate/waf/transform"
)

// managedGroup is a managed rule group lockgate provides. Each is backed
// by an IP set the operator supplies (files of CIDRs, as threat feeds
// publish them): lockgate ships no threat data of its own.
type managedGroup struct {
	// ipSet names the Options field holding the list the group's rule
	// matches.
	ipSet string
	// rule is the rule's name, and label the label it adds.
	rule, label string
	// capacity is the group's WCUs, as AWS's equivalent group costs.
	capacity int64
}

const (
	ipReputation = "IPReputation"
	anonymousIP  = "AnonymousIP"
)

func managedKey(vendor, name string) string { return vendor + "/" + name }

// managedGroups maps vendor/name to lockgate's groups. AWS's IP
// reputation and anonymous IP lists are accepted under their AWS names so
// that web ACLs written for AWS load unchanged.
var managedGroups = map[string]managedGroup{
	managedKey("lockgate", "IPReputationList"):                 {ipSet: ipReputation, rule: "IPReputationList", label: "awswaf:managed:lockgate:ip-reputation-list", capacity: 25},
	managedKey("AWS", "AWSManagedRulesAmazonIpReputationList"): {ipSet: ipReputation, rule: "AWSManagedIPReputationList", label: "awswaf:managed:aws:amazon-ip-list:AWSManagedIPReputationList", capacity: 25},
	managedKey("lockgate", "AnonymousIPList"):                  {ipSet: anonymousIP, rule: "AnonymousIPList", label: "awswaf:managed:lockgate:anonymous-ip-list", capacity: 50},
	managedKey("AWS", "AWSManagedRulesAnonymousIpList"):        {ipSet: anonymousIP, rule: "AnonymousIPList", label: "awswaf:managed:aws:anonymous-ip-list:AnonymousIPList", capacity: 50},
}

func managedGroupList() string {
	var names []string
	for k := range managedGroups {
		names = append(names, k)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

func transformImplemented(typ string) bool { return transform.Implemented(typ) }
