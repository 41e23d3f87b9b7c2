"""What the tests share: live servers, graph helpers, page checks."""
