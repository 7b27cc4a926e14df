// Package templates holds Twine's embedded text: the redis.conf every node
// is started from, the demo cluster, alert mails and the status page.
// Callers fill them with data they have prepared; the templates hold no logic
// beyond presentation.
package templates

import (
	"embed"
	"text/template"
)

//go:embed redis.conf.tmpl sentinel.conf.tmpl demo.twine.conf
var files embed.FS

// RedisConf renders a node's redis.conf from a RedisConfData.
var RedisConf = template.Must(template.ParseFS(files, "redis.conf.tmpl"))

// SentinelConf renders a Sentinel's first sentinel.conf from a
// SentinelConfData. Sentinel rewrites the file itself afterwards.
var SentinelConf = template.Must(template.ParseFS(files, "sentinel.conf.tmpl"))

// SentinelConfData is what SentinelConf needs; strings are quoted for
// sentinel.conf by the caller.
type SentinelConfData struct {
	Node      string // the sentinel's name
	Source    string // the twine.conf it was generated from
	Line      int
	Port      int
	Bind      string
	Protected bool
	Dir       string
	Pidfile   string
	Logfile   string
	// AnnounceIP is the address other Sentinels and clients reach this
	// one at (the host of its twine.conf line).
	AnnounceIP string
	// AnnounceHostnames is set when hosts are names, not IP addresses.
	AnnounceHostnames bool
	Password          string // requirepass and sentinel-pass, "" for none
	Masters           []SentinelMaster
}

// SentinelMaster is one replica set a Sentinel monitors.
type SentinelMaster struct {
	Name            string // CLUSTER-P
	Host            string // its current master
	Port            int
	Quorum          int
	DownAfterMS     int64
	FailoverTimeout int64  // ms
	AuthPass        string // "" for none
}

// RedisConfData is what RedisConf needs. String values that are paths or may
// hold spaces are already quoted for redis.conf by the caller.
type RedisConfData struct {
	Node       string // node name
	Source     string // the twine.conf it was generated from
	Line       int    // the line of twine.conf that defines the node
	Port       int    //
	Bind       string // address(es) to listen on
	Protected  bool   // protected-mode (only loopback clients without a password)
	Dir        string // working directory: data files live here
	Pidfile    string //
	Logfile    string //
	Databases  int    //
	AppendOnly bool   // AOF everysec, automatic rewrites off (twined schedules them)
	ReplicaOf  string // "HOST PORT" of the master, "" for a master
	// AnnounceIP is the address a replica tells its master, so that
	// Sentinels find it at its twine.conf host; "" to leave it to Redis.
	AnnounceIP string
	// MinReplicas and MinReplicasLag are min-replicas-to-write and
	// min-replicas-max-lag (seconds); MinReplicas 0 leaves them out.
	MinReplicas    int
	MinReplicasLag int
	Password       string   // requirepass and masterauth, "" for none
	Includes       []string // files included at the end, so they override
}

// DemoConfig returns the twine.conf of the demo cluster twined runs when it
// is started with no config.
func DemoConfig() []byte {
	b, err := files.ReadFile("demo.twine.conf")
	if err != nil {
		panic("templates: demo.twine.conf is not embedded: " + err.Error())
	}
	return b
}
