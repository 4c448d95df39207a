package localenv

import "testing"

func TestMayCreateTable(t *testing.T) {
	tests := []struct {
		name, endpoint, createTable string
		want                        bool
	}{
		{"DynamoDB Local, default address", "http://127.0.0.1:8000", "", true},
		{"localhost", "http://localhost:8000", "", true},
		{"LOCALHOST", "http://LOCALHOST:8000", "", true},
		{"IPv6 loopback", "http://[::1]:8000", "", true},
		{"anywhere in 127/8", "http://127.0.0.2:8000", "", true},
		{"no scheme", "127.0.0.1:8000", "", true},
		{"real AWS", "", "", false},
		{"real AWS, asked for", "", "1", true},
		{"real AWS, asked for with true", "", "true", true},
		{"real AWS, explicitly not", "", "0", false},
		{"real AWS, unclear answer", "", "yes please", false},
		{"regional endpoint", "https://dynamodb.eu-west-1.amazonaws.com", "", false},
		{"regional endpoint, asked for", "https://dynamodb.eu-west-1.amazonaws.com", "1", true},
		{"another machine", "http://10.0.0.5:8000", "", false},
		{"a name that only starts like localhost", "http://localhost.example.com:8000", "", false},
		{"unparsable", "http://[::1", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := MayCreateTable(tt.endpoint, tt.createTable); got != tt.want {
				t.Errorf("MayCreateTable(%q, %q) = %v; want %v", tt.endpoint, tt.createTable, got, tt.want)
			}
		})
	}
}
