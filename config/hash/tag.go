package hash

import "bytes"

// Tag returns the part of key that is hashed, following the Redis Cluster
// hash-tag rule: if key has a '{' and a '}' somewhere after the first '{',
// and the bytes between that '{' and the first '}' after it are not empty,
// only those bytes are hashed; otherwise the whole key is. So
// "{user1000}.following" hashes as "user1000", "foo{}{bar}" as the whole
// key, and "foo{{bar}}zap" as "{bar".
//
// The result aliases key. Tag is idempotent: Tag(Tag(k)) equals Tag(k).
func Tag(key []byte) []byte {
	open := bytes.IndexByte(key, '{')
	if open < 0 {
		return key
	}
	n := bytes.IndexByte(key[open+1:], '}')
	if n <= 0 {
		return key
	}
	return key[open+1 : open+1+n]
}
