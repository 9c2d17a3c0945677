package waflog

// AthenaDDL is the table AWS documents for querying AWS WAF logs with
// Amazon Athena ("Create a table for AWS WAF logs without partitioning",
// in "Query AWS WAF logs", Amazon Athena User Guide), with the OpenX JSON
// SerDe. lockgate's records load into it unchanged (TestAthenaColumnTypes
// checks every column of every kind of record against these types).
// Replace the LOCATION with the bucket and prefix holding the logs.
const AthenaDDL = "CREATE EXTERNAL TABLE `waf_logs`(\n" +
	"  `timestamp` bigint,\n" +
	"  `formatversion` int,\n" +
	"  `webaclid` string,\n" +
	"  `terminatingruleid` string,\n" +
	"  `terminatingruletype` string,\n" +
	"  `action` string,\n" +
	"  `terminatingrulematchdetails` array < struct < conditiontype: string, sensitivitylevel: string, location: string, matcheddata: array < string > > >,\n" +
	"  `httpsourcename` string,\n" +
	"  `httpsourceid` string,\n" +
	"  `rulegrouplist` array < struct < rulegroupid: string, terminatingrule: struct < ruleid: string, action: string, rulematchdetails: array < struct < conditiontype: string, sensitivitylevel: string, location: string, matcheddata: array < string > > > >, nonterminatingmatchingrules: array < struct < ruleid: string, action: string, overriddenaction: string, rulematchdetails: array < struct < conditiontype: string, sensitivitylevel: string, location: string, matcheddata: array < string > > >, challengeresponse: struct < responsecode: string, solvetimestamp: string >, captcharesponse: struct < responsecode: string, solvetimestamp: string > > >, excludedrules: string > >,\n" +
	"  `ratebasedrulelist` array < struct < ratebasedruleid: string, limitkey: string, maxrateallowed: int > >,\n" +
	"  `nonterminatingmatchingrules` array < struct < ruleid: string, action: string, rulematchdetails: array < struct < conditiontype: string, sensitivitylevel: string, location: string, matcheddata: array < string > > >, challengeresponse: struct < responsecode: string, solvetimestamp: string >, captcharesponse: struct < responsecode: string, solvetimestamp: string > > >,\n" +
	"  `requestheadersinserted` array < struct < name: string, value: string > >,\n" +
	"  `responsecodesent` string,\n" +
	"  `httprequest` struct < clientip: string, country: string, headers: array < struct < name: string, value: string > >, uri: string, args: string, httpversion: string, httpmethod: string, requestid: string, fragment: string, scheme: string, host: string >,\n" +
	"  `labels` array < struct < name: string > >,\n" +
	"  `captcharesponse` struct < responsecode: string, solvetimestamp: string, failurereason: string >,\n" +
	"  `challengeresponse` struct < responsecode: string, solvetimestamp: string, failurereason: string >,\n" +
	"  `ja3fingerprint` string,\n" +
	"  `ja4fingerprint` string,\n" +
	"  `oversizefields` string,\n" +
	"  `requestbodysize` int,\n" +
	"  `requestbodysizeinspectedbywaf` int\n" +
	")\n" +
	"ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe'\n" +
	"STORED AS INPUTFORMAT 'org.apache.hadoop.mapred.TextInputFormat'\n" +
	"OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'\n" +
	"LOCATION 's3://amzn-s3-demo-bucket/AWSLogs/'\n"
