"""The review stage and desk: the moderation queue in Elasticsearch (`review.queue`, fed by the queue agent) and the
review page moderators decide on (`review.desk`, which publishes their decisions)."""
