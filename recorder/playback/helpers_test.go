package playback_test

import "os"

// filepathTemp makes a directory for the shared VOD; it lives for the test
// binary's run and is removed by TestMain.
func filepathTemp() (string, error) {
	d, err := os.MkdirTemp("", "playback-vod-")
	if err == nil {
		tempDirs = append(tempDirs, d)
	}
	return d, err
}

var tempDirs []string
