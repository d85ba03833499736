#!/usr/bin/env bash
# Deploys the coordinator to Google Cloud: Firestore (index, TTL), Pub/Sub topics with a
# dead-letter topic, three Cloud Functions (2nd gen) and the Cloud Scheduler sweep.
# Idempotent: re-running updates what exists. DRY_RUN=1 prints the commands instead.
#
#   PROJECT=my-proj REGION=europe-west1 ./gcp/deploy/deploy.sh
#
# Settings (env): PROJECT (required), REGION (us-central1), ROUTER (rules | vertex),
# VERTEX_MODEL (gemini-2.0-flash), AUTH_SECRET (Secret Manager secret holding AUTH_TOKEN,
# default coordinator-auth-token), SWEEP_SCHEDULE ("*/5 * * * *"), MAX_DELIVERY_ATTEMPTS (10).
set -euo pipefail

PROJECT="${PROJECT:?set PROJECT to your Google Cloud project id}"
REGION="${REGION:-us-central1}"
ROUTER="${ROUTER:-rules}"
VERTEX_MODEL="${VERTEX_MODEL:-gemini-2.0-flash}"
AUTH_SECRET="${AUTH_SECRET:-coordinator-auth-token}"
SWEEP_SCHEDULE="${SWEEP_SCHEDULE:-*/5 * * * *}"
MAX_DELIVERY_ATTEMPTS="${MAX_DELIVERY_ATTEMPTS:-10}"
IN_TOPIC="${IN_TOPIC:-coordinator-in}"
ASSIGNMENTS_TOPIC="${ASSIGNMENTS_TOPIC:-agent-assignments}"
DEAD_LETTER_TOPIC="${DEAD_LETTER_TOPIC:-coordinator-dead-letter}"
SA_NAME="${SA_NAME:-agent-coordinator}"
SA="${SA_NAME}@${PROJECT}.iam.gserviceaccount.com"
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"

run() {
  echo "+ $*" >&2
  if [[ "${DRY_RUN:-}" != "1" ]]; then "$@"; fi
}
# Creation steps tolerate "already exists" so the script can be re-run.
create() { run "$@" || echo "  (exists or not created; continuing)" >&2; }
G=(gcloud --project="$PROJECT" --quiet)

echo "== APIs" >&2
run "${G[@]}" services enable cloudfunctions.googleapis.com run.googleapis.com cloudbuild.googleapis.com \
  eventarc.googleapis.com pubsub.googleapis.com firestore.googleapis.com cloudscheduler.googleapis.com \
  secretmanager.googleapis.com aiplatform.googleapis.com artifactregistry.googleapis.com

echo "== Service account; project-level roles only where Google offers no narrower resource" >&2
create "${G[@]}" iam service-accounts create "$SA_NAME" --display-name="agent coordinator functions"
# Firestore and Eventarc's event receiver are granted per project; Vertex AI only when it routes.
PROJECT_ROLES=(roles/datastore.user roles/eventarc.eventReceiver)
[[ "$ROUTER" == "vertex" ]] && PROJECT_ROLES+=(roles/aiplatform.user)
for role in "${PROJECT_ROLES[@]}"; do
  run "${G[@]}" projects add-iam-policy-binding "$PROJECT" --member="serviceAccount:$SA" --role="$role" --condition=None >/dev/null
done

echo "== Firestore: database, the indexes of gcp/deploy/firestore.indexes.json, TTL on expires_at" >&2
create "${G[@]}" firestore databases create --location="$REGION" --type=firestore-native
# The composite indexes (shard first: status, queue, pending outbox, deadlines), one by one.
create "${G[@]}" firestore indexes composite create --collection-group=tasks \
  --field-config=field-path=shard,order=ascending --field-config=field-path=status,order=ascending \
  --field-config=field-path=queue_key,order=ascending
create "${G[@]}" firestore indexes composite create --collection-group=tasks \
  --field-config=field-path=shard,order=ascending --field-config=field-path=queue,order=ascending \
  --field-config=field-path=queue_key,order=ascending
create "${G[@]}" firestore indexes composite create --collection-group=tasks \
  --field-config=field-path=shard,order=ascending --field-config=field-path=outbox_key,order=ascending
create "${G[@]}" firestore indexes composite create --collection-group=tasks \
  --field-config=field-path=shard,order=ascending --field-config=field-path=due_key,order=ascending
for group in agents tasks; do
  run "${G[@]}" firestore fields ttls update expires_at --collection-group="$group" --enable-ttl --async
  # The record's JSON text is never queried: no index entries for it.
  run "${G[@]}" firestore indexes fields update record --collection-group="$group" --disable-indexes --async
done

echo "== Pub/Sub: inbound, assignments, dead letters" >&2
for topic in "$IN_TOPIC" "$ASSIGNMENTS_TOPIC" "$DEAD_LETTER_TOPIC"; do create "${G[@]}" pubsub topics create "$topic"; done
# Keeps dead letters readable (a topic without a subscription drops them).
create "${G[@]}" pubsub subscriptions create "${DEAD_LETTER_TOPIC}-sub" --topic="$DEAD_LETTER_TOPIC" --message-retention-duration=7d
# An example per-agent subscription: agents filter the assignments topic on the attribute.
create "${G[@]}" pubsub subscriptions create assignments-example-agent --topic="$ASSIGNMENTS_TOPIC" \
  --message-filter='attributes.target_agent = "example-agent"'

# The functions publish only to the assignments topic (assignments, rejections, failures).
run "${G[@]}" pubsub topics add-iam-policy-binding "$ASSIGNMENTS_TOPIC" --member="serviceAccount:$SA" --role=roles/pubsub.publisher >/dev/null

echo "== Auth token secret (create it once: printf %s TOKEN | gcloud secrets create $AUTH_SECRET --data-file=-)" >&2
run "${G[@]}" secrets describe "$AUTH_SECRET" >/dev/null
run "${G[@]}" secrets add-iam-policy-binding "$AUTH_SECRET" --member="serviceAccount:$SA" --role=roles/secretmanager.secretAccessor >/dev/null

echo "== Build" >&2
run node "$ROOT/scripts/build.mjs" gcp

ENV_VARS="GCP_PROJECT=$PROJECT,ROUTER=$ROUTER,VERTEX_LOCATION=$REGION,VERTEX_MODEL=$VERTEX_MODEL,PUBSUB_ASSIGNMENTS_TOPIC=$ASSIGNMENTS_TOPIC,LOG_LEVEL=info"
COMMON=(--gen2 --runtime=nodejs20 --region="$REGION" --source="$ROOT/dist/gcp" --service-account="$SA"
  --set-env-vars="$ENV_VARS" --set-secrets="AUTH_TOKEN=${AUTH_SECRET}:latest" --memory=512Mi --timeout=60s)

echo "== Functions" >&2
# Pub/Sub trigger; --retry: a thrown (retryable) failure is redelivered with backoff.
run "${G[@]}" functions deploy coordinator-pubsub "${COMMON[@]}" --entry-point=coordinatorPubSub \
  --trigger-topic="$IN_TOPIC" --retry --trigger-service-account="$SA"
# HTTP API: the platform lets requests in, the function checks AUTH_TOKEN.
run "${G[@]}" functions deploy coordinator-http "${COMMON[@]}" --entry-point=coordinatorHttp \
  --trigger-http --allow-unauthenticated
# Sweep over HTTP (optional: the scheduler job below publishes to the inbound topic instead).
run "${G[@]}" functions deploy coordinator-sweep "${COMMON[@]}" --entry-point=coordinatorSweep \
  --trigger-http --no-allow-unauthenticated

# Eventarc invokes the Pub/Sub function as the service account: invoker on that function only.
run "${G[@]}" functions add-invoker-policy-binding coordinator-pubsub --region="$REGION" --member="serviceAccount:$SA" >/dev/null

echo "== Dead-lettering on the trigger's subscription" >&2
if [[ "${DRY_RUN:-}" == "1" ]]; then
  TRIGGER_SUB="projects/$PROJECT/subscriptions/eventarc-SUBSCRIPTION"
  PROJECT_NUMBER="PROJECT_NUMBER"
else
  TRIGGER=$("${G[@]}" functions describe coordinator-pubsub --gen2 --region="$REGION" --format='value(eventTrigger.trigger)')
  TRIGGER_SUB=$("${G[@]}" eventarc triggers describe "$TRIGGER" --location="$REGION" --format='value(transport.pubsub.subscription)')
  PROJECT_NUMBER=$("${G[@]}" projects describe "$PROJECT" --format='value(projectNumber)')
fi
run "${G[@]}" pubsub subscriptions update "$TRIGGER_SUB" --dead-letter-topic="$DEAD_LETTER_TOPIC" \
  --max-delivery-attempts="$MAX_DELIVERY_ATTEMPTS" --min-retry-delay=10s --max-retry-delay=600s
PUBSUB_AGENT="serviceAccount:service-${PROJECT_NUMBER}@gcp-sa-pubsub.iam.gserviceaccount.com"
run "${G[@]}" pubsub topics add-iam-policy-binding "$DEAD_LETTER_TOPIC" --member="$PUBSUB_AGENT" --role=roles/pubsub.publisher >/dev/null
run "${G[@]}" pubsub subscriptions add-iam-policy-binding "$TRIGGER_SUB" --member="$PUBSUB_AGENT" --role=roles/pubsub.subscriber >/dev/null

echo "== Cloud Scheduler: the sweep, as a message on the inbound topic" >&2
create "${G[@]}" scheduler jobs create pubsub coordinator-sweep --location="$REGION" \
  --schedule="$SWEEP_SCHEDULE" --topic="$IN_TOPIC" --message-body='{"type":"sweep"}'

if [[ "${DRY_RUN:-}" != "1" ]]; then
  echo "done. HTTP API: $("${G[@]}" functions describe coordinator-http --gen2 --region="$REGION" --format='value(serviceConfig.uri)')" >&2
fi
