-- Argo CD health for the ecs.fargate.dev kinds, from the operator's conditions.
-- Progressing until the operator has seen this generation; then Degraded, Healthy
-- or Progressing from the Degraded / Ready / Progressing conditions (Suspended for a
-- FargateTask stopped on request: Ready False with reason Stopped, and for a FargateService whose
-- deployment waits at a PAUSE lifecycle hook: reason DeploymentPaused). Drift ECS has not been set back
-- (driftPolicy Report, or corrections suspended) leaves a Healthy object Healthy, and says so.
local hs = {status = "Progressing", message = "Waiting for the operator"}
if obj.status == nil or obj.status.conditions == nil then
  return hs
end
local generation = obj.metadata.generation or 0
if (obj.status.observedGeneration or 0) < generation then
  hs.message = "The operator has not seen generation " .. tostring(generation) .. " yet"
  return hs
end
local conditions = {}
for _, c in ipairs(obj.status.conditions) do
  conditions[c.type] = c
end
local degraded, ready, drifted = conditions["Degraded"], conditions["Ready"], conditions["Drifted"]
if degraded ~= nil and degraded.status == "True" then
  hs.status = "Degraded"
  hs.message = degraded.message or degraded.reason or "Degraded"
  return hs
end
if ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  hs.message = ready.message or "Ready"
  if drifted ~= nil and drifted.status == "True" then
    hs.message = "Drifted (" .. (drifted.reason or "Drifted") .. "): " .. (drifted.message or "") .. "; " .. hs.message
  end
  return hs
end
-- A FargateTask stopped on request (StopTask) before it finished: halted on purpose, not failed.
if ready ~= nil and ready.reason == "Stopped" then
  hs.status = "Suspended"
  hs.message = ready.message or "Stopped"
  return hs
end
-- A FargateService deployment held at a PAUSE hook: it goes on when someone continues it.
if ready ~= nil and ready.reason == "DeploymentPaused" then
  hs.status = "Suspended"
  hs.message = ready.message or "DeploymentPaused"
  return hs
end
hs.message = (ready and (ready.message or ready.reason)) or "Reconciling"
return hs
