"""The progress part: Parties, national-report answers, indicator methodology, observations."""
