// Package templates holds Twine's embedded text: the redis.conf every node
// is started from, the demo cluster, alert mails and the status page.
// Callers fill them with data they have prepared; the templates hold no logic
// beyond presentation.
package templates

import (
	"embed"
	"text/template"
)

//go:embed redis.conf.tmpl demo.twine.conf
var files embed.FS

// RedisConf renders a node's redis.conf from a RedisConfData.
var RedisConf = template.Must(template.ParseFS(files, "redis.conf.tmpl"))

// RedisConfData is what RedisConf needs. String values that are paths or may
// hold spaces are already quoted for redis.conf by the caller.
type RedisConfData struct {
	Node       string   // node name
	Source     string   // the twine.conf it was generated from
	Line       int      // the line of twine.conf that defines the node
	Port       int      //
	Bind       string   // address(es) to listen on
	Protected  bool     // protected-mode (only loopback clients without a password)
	Dir        string   // working directory: data files live here
	Pidfile    string   //
	Logfile    string   //
	Databases  int      //
	AppendOnly bool     // AOF everysec, automatic rewrites off (twined schedules them)
	ReplicaOf  string   // "HOST PORT" of the master, "" for a master
	Password   string   // requirepass and masterauth, "" for none
	Includes   []string // files included at the end, so they override
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
