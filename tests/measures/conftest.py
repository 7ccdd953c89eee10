collect_ignore_glob = ["corpus/*"]
