-- The workloads of the `plugins` benchmark in Lua 5.4: a line by line
-- translation of `benches/plugins/workload/src/lib.rs`, run by `src/lua.rs`.
--
-- The host keeps the column tables (px, py, vx, vy: 1-based arrays of
-- floats) alive across frames, fills them before each call, passes them as
-- arguments (so they are locals here: the fastest access Lua has), and
-- reads the results back after the call. Numbers are Lua floats (f64).

-- The plugin's own state: the number of `integrate` calls. Hot reload runs
-- the new chunk in the same Lua state, so an existing count is kept.
frames = frames or 0

-- `Boids::RADIUS` and the other flocking constants.
RADIUS = 40.0
SEPARATION = 12.0
COHESION = 0.01
ALIGNMENT = 0.05
SEPARATION_GAIN = 0.05
MAX_SPEED = 120.0

local sqrt = math.sqrt

-- `call_overhead`: one call that does nothing.
function call_empty()
end

-- `integrate`: pos += vel * dt for every body (`integrate_one` inlined, as
-- it is `#[inline(always)]` in Rust), and one more frame counted.
function integrate(px, py, vx, vy, n, dt)
    for i = 1, n do
        px[i] = px[i] + vx[i] * dt
        py[i] = py[i] + vy[i] * dt
    end
    frames = frames + 1
end

-- The new velocities of a boids step, reused from frame to frame.
local new_vx, new_vy = {}, {}

-- `Boids::step`: the new velocity of every body from the old positions and
-- velocities (`Boids::steer`, with `Sums::add` inlined), then, once all are
-- known, vel = new velocity and pos += vel * dt.
function boids(px, py, vx, vy, n, dt)
    local R2 = RADIUS * RADIUS
    local S2 = SEPARATION * SEPARATION
    local cohesion, alignment = COHESION, ALIGNMENT
    local separation_gain, max_speed = SEPARATION_GAIN, MAX_SPEED
    for i = 1, n do
        local xi, yi = px[i], py[i]
        local count, sum_x, sum_y, sum_vx, sum_vy, sep_x, sep_y = 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0
        for j = 1, n do
            local x, y = px[j], py[j]
            local dx, dy = x - xi, y - yi
            local d2 = dx * dx + dy * dy
            -- near: a neighbour; distance 0 is `i` itself
            if d2 < R2 and d2 > 0.0 then
                count = count + 1.0
                sum_x = sum_x + x
                sum_y = sum_y + y
                sum_vx = sum_vx + vx[j]
                sum_vy = sum_vy + vy[j]
                -- close (d2 < S2 and d2 > 0.0): too close, pushes `i` away;
                -- checked among the near ones only, as SEPARATION < RADIUS
                if d2 < S2 then
                    sep_x = sep_x - dx
                    sep_y = sep_y - dy
                end
            end
        end
        local vxi, vyi = vx[i], vy[i]
        local nvx, nvy = vxi, vyi
        if count > 0.0 then
            nvx = nvx + (sum_x / count - xi) * cohesion + (sum_vx / count - vxi) * alignment
            nvy = nvy + (sum_y / count - yi) * cohesion + (sum_vy / count - vyi) * alignment
        end
        nvx = nvx + sep_x * separation_gain
        nvy = nvy + sep_y * separation_gain
        local speed = sqrt(nvx * nvx + nvy * nvy)
        if speed > max_speed then
            nvx = nvx * (max_speed / speed)
            nvy = nvy * (max_speed / speed)
        end
        new_vx[i] = nvx
        new_vy[i] = nvy
    end
    for i = 1, n do
        local nvx, nvy = new_vx[i], new_vy[i]
        vx[i] = nvx
        vy[i] = nvy
        px[i] = px[i] + nvx * dt
        py[i] = py[i] + nvy * dt
    end
end

-- `events_10k`: answers every message (`answer`: same id, value * 2 + 1)
-- into the answer tables; returns the number of answers.
function on_events(ids, values, n, out_ids, out_values)
    for i = 1, n do
        out_ids[i] = ids[i]
        out_values[i] = values[i] * 2.0 + 1.0
    end
    return n
end
